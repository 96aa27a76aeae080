-- Actual value of every catalog KPI per rep and period (product.md formulas).
-- Ratios without a denominator are null: reported as "no data", never scored as zero.
-- On an incremental run, only the periods in int_scope__periods.
-- depends_on: {{ ref('int_scope__periods') }}
with

metrics as (

    select all_metrics.*
    from {{ ref('int_rep_period__metrics') }} as all_metrics
    where {{ in_scope_periods('all_metrics', incremental=false) }}

),

previous as (

    -- Same rep, the period just before (for growth), in or out of scope.
    select
        rep_id,
        period_grain,
        period_start,
        line_revenue - return_amount as revenue
    from {{ ref('int_rep_period__metrics') }}

),

reviews as (

    select
        periods.period_grain,
        periods.period_start,
        reviews.rep_id,
        avg(reviews.weighted_score) as review_360
    from {{ ref('int_reviews_360__rep_period') }} as reviews
    inner join {{ ref('int_calendar__date_periods') }} as periods on reviews.period_start = periods.date_day
    where {{ in_scope_periods('periods', incremental=false) }}
    group by periods.period_grain, periods.period_start, reviews.rep_id

),

repeat_purchase as (

    select
        rep_id,
        period_grain,
        period_start,
        customers_12m,
        repeat_customers_12m
    from {{ ref('int_rep_period__repeat_purchase') }}

),

values_wide as (

    select
        metrics.rep_id,
        metrics.period_grain,
        metrics.period_start,
        metrics.line_revenue - metrics.return_amount as revenue,
        (metrics.line_revenue - metrics.return_amount) - (metrics.line_cost - metrics.return_cost) as gross_profit,
        ((metrics.line_revenue - metrics.return_amount) - (metrics.line_cost - metrics.return_cost)) * 100.0
        / nullif(metrics.line_revenue - metrics.return_amount, 0) as gross_margin_pct,
        (metrics.line_revenue - metrics.return_amount) / nullif(metrics.completed_orders, 0) as avg_order_value,
        metrics.new_market_line_revenue - metrics.new_market_return_amount as new_market_revenue,
        ((metrics.line_revenue - metrics.return_amount) - previous.revenue) * 100.0
        / nullif(previous.revenue, 0) as channel_revenue_growth_pct,
        metrics.new_customers,
        repeat_purchase.repeat_customers_12m * 100.0
        / nullif(repeat_purchase.customers_12m, 0) as repeat_purchase_rate_pct,
        metrics.csat_positive * 100.0 / nullif(metrics.csat_responses, 0) as csat_pct,
        (metrics.nps_promoters - metrics.nps_detractors) * 100.0 / nullif(metrics.nps_responses, 0) as nps,
        metrics.complaints * 100.0 / nullif(metrics.completed_orders, 0) as complaint_rate_pct,
        metrics.visits,
        metrics.leads_created + metrics.opportunities_created as prospects,
        metrics.market_feedback,
        metrics.opportunities_won * 100.0
        / nullif(metrics.opportunities_won + metrics.opportunities_lost, 0) as win_rate_pct,
        metrics.leads_created as leads,
        metrics.event_participants,
        metrics.brand_exposure,
        metrics.training_hours
    from metrics
    left join previous
        on
            metrics.rep_id = previous.rep_id
            and metrics.period_grain = previous.period_grain
            and {{ previous_period_start('metrics.period_grain', 'metrics.period_start') }} = previous.period_start

    left join repeat_purchase
        on
            metrics.rep_id = repeat_purchase.rep_id
            and metrics.period_grain = repeat_purchase.period_grain
            and metrics.period_start = repeat_purchase.period_start
)

{%- set codes = ['revenue', 'gross_profit', 'gross_margin_pct', 'avg_order_value', 'new_market_revenue',
    'channel_revenue_growth_pct', 'new_customers', 'repeat_purchase_rate_pct', 'csat_pct', 'nps', 'complaint_rate_pct', 'visits',
    'prospects', 'market_feedback', 'win_rate_pct', 'leads', 'event_participants', 'brand_exposure',
    'training_hours'] %}

{% for code in codes %}
    select
        rep_id,
        period_grain,
        period_start,
        '{{ code }}' as kpi_code,
        cast({{ code }} as {{ dbt.type_numeric() }}) as actual_value
    from values_wide
    union all
{% endfor %}
select
    rep_id,
    period_grain,
    period_start,
    'review_360' as kpi_code,
    cast(review_360 as {{ dbt.type_numeric() }}) as actual_value
from reviews
