-- Period sums of the daily rep measures at every grain, and the period's new customers.
-- Incremental: a run rebuilds the periods in int_scope__periods.
-- depends_on: {{ ref('int_scope__periods') }}
{{ config(
    materialized=scoped_materialization(),
    incremental_strategy='append',
    pre_hook="{{ delete_scope_periods() }}",
) }}
{%- set metrics = rep_day_metrics() %}

with

periods as (

    select
        all_periods.date_day,
        all_periods.period_grain,
        all_periods.period_start,
        all_periods.period_end
    from {{ ref('int_calendar__date_periods') }} as all_periods
    where {{ in_scope_periods('all_periods') }}

),

day_sums as (

    select
        days.rep_id,
        periods.period_grain,
        periods.period_start,
        periods.period_end,
        {%- for metric in metrics %}
            sum(days.{{ metric }}) as {{ metric }}{% if not loop.last %},{% endif %}
        {%- endfor %}
    from {{ ref('int_rep_day__metrics') }} as days
    inner join periods on days.date_day = periods.date_day
    group by days.rep_id, periods.period_grain, periods.period_start, periods.period_end

),

new_customers as (

    select
        first_orders.rep_id,
        periods.period_grain,
        periods.period_start,
        periods.period_end,
        count(*) as new_customers
    from {{ ref('int_accounts__first_orders') }} as first_orders
    inner join periods on first_orders.first_order_date = periods.date_day
    where first_orders.rep_id is not null
    group by first_orders.rep_id, periods.period_grain, periods.period_start, periods.period_end

)

select
    coalesce(day_sums.rep_id, new_customers.rep_id) as rep_id,
    coalesce(day_sums.period_grain, new_customers.period_grain) as period_grain,
    coalesce(day_sums.period_start, new_customers.period_start) as period_start,
    coalesce(day_sums.period_end, new_customers.period_end) as period_end,
    {%- for metric in metrics %}
        cast(coalesce(day_sums.{{ metric }}, 0) as {{ rep_metric_type(metric) }}) as {{ metric }},
    {%- endfor %}
    cast(coalesce(new_customers.new_customers, 0) as {{ dbt.type_bigint() }}) as new_customers
from day_sums
full outer join new_customers
    on
        day_sums.rep_id = new_customers.rep_id
        and day_sums.period_grain = new_customers.period_grain
        and day_sums.period_start = new_customers.period_start
