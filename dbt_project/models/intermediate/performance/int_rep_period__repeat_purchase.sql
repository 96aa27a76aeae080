-- Repeat purchase rate per rep and period: of the accounts with a completed order from the
-- rep in the 12 months up to the period's last day, the share with two or more.
-- Incremental: a run rebuilds the periods in int_scope__periods.
-- depends_on: {{ ref('int_scope__periods') }}
{{ config(
    materialized=scoped_materialization(),
    incremental_strategy='append',
    pre_hook="{{ delete_scope_periods() }}",
) }}

with

history_window as (

    -- only the 12 months before the periods in scope
    {% if is_incremental() and scoped() -%}
        select
            cast({{ dbt.dateadd('month', -12, 'min(period_end)') }} as date) as after_day,
            max(period_end) as last_day
        from {{ ref('int_scope__periods') }}
    {%- else -%}
        select
            cast('1900-01-01' as date) as after_day,
            cast('9999-12-31' as date) as last_day
    {%- endif %}

),

account_orders as (

    select distinct
        credited.rep_id,
        credited.account_id,
        credited.order_id,
        credited.order_date
    from {{ ref('int_order_lines__credited') }} as credited
    inner join history_window
        on credited.order_date > history_window.after_day and credited.order_date <= history_window.last_day
    where credited.order_status = 'completed'

),

periods as (

    -- periods that have started (a period of future targets has no purchases to rate)
    {%- if is_incremental() and scoped() %}
        select
            period_grain,
            period_start,
            period_end
        from {{ ref('int_scope__periods') }}
    {%- else %}
        select distinct
            period_grain,
            period_start,
            period_end
        from {{ ref('int_calendar__date_periods') }}
    {%- endif %}
    where period_start <= (select max(all_lines.order_date) from {{ ref('int_order_lines__credited') }} as all_lines)

),

per_account as (

    select
        account_orders.rep_id,
        periods.period_grain,
        periods.period_start,
        account_orders.account_id,
        count(*) as orders_12m
    from periods
    inner join account_orders
        on
            periods.period_end >= account_orders.order_date
            and account_orders.order_date > cast({{ dbt.dateadd('month', -12, 'periods.period_end') }} as date)
    group by account_orders.rep_id, periods.period_grain, periods.period_start, account_orders.account_id

)

select
    rep_id,
    period_grain,
    period_start,
    count(*) as customers_12m,
    sum(case when orders_12m >= 2 then 1 else 0 end) as repeat_customers_12m
from per_account
group by rep_id, period_grain, period_start
