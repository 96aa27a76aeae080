-- Revenue growth per rep, channel and period: (revenue - previous period's) / previous x 100.
-- kpi_rep_period holds the rep's roll-up over all channels (channel_revenue_growth_pct).
-- Incremental: a run rebuilds the periods in int_scope__periods (from their days and the
-- days of the period before each, in int_rep_day__channel_revenue).
-- depends_on: {{ ref('int_scope__periods') }}
{{ config(
    materialized=scoped_materialization(),
    incremental_strategy='append',
    on_schema_change='append_new_columns',
    pre_hook="{{ delete_scope_periods() }}",
) }}

with

periods as (

    select
        all_periods.date_day,
        all_periods.period_grain,
        all_periods.period_start
    from {{ ref('int_calendar__date_periods') }} as all_periods
    {%- if is_incremental() and scoped() %}
        inner join (
            select
                period_grain,
                period_start
            from {{ ref('int_scope__periods') }}
            union
            select
                period_grain,
                {{ previous_period_start('period_grain', 'period_start') }} as period_start
            from {{ ref('int_scope__periods') }}
        ) as needed
            on all_periods.period_grain = needed.period_grain and all_periods.period_start = needed.period_start
    {%- endif %}

),

per_period as (

    select
        daily.rep_id,
        daily.channel,
        periods.period_grain,
        periods.period_start,
        sum(daily.revenue) as revenue
    from {{ ref('int_rep_day__channel_revenue') }} as daily
    inner join periods on daily.date_day = periods.date_day
    group by daily.rep_id, daily.channel, periods.period_grain, periods.period_start

)

select
    current_period.rep_id,
    coalesce(current_period.channel, 'unknown') as channel,
    current_period.period_grain,
    current_period.period_start,
    cast(current_period.revenue as decimal(20, 2)) as revenue,
    cast(previous_period.revenue as decimal(20, 2)) as previous_revenue,
    cast(
        (current_period.revenue - previous_period.revenue) * 100.0 / nullif(previous_period.revenue, 0)
        as decimal(18, 4)
    ) as revenue_growth_pct
from per_period as current_period
left join per_period as previous_period
    on
        current_period.rep_id = previous_period.rep_id
        and current_period.channel = previous_period.channel
        and current_period.period_grain = previous_period.period_grain
        and {{ previous_period_start('current_period.period_grain', 'current_period.period_start') }}
        = previous_period.period_start
where {{ in_scope_periods('current_period') }}
