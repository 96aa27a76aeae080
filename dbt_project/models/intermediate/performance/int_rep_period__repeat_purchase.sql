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

account_days as (

    -- a rep's completed orders per account and day (a day's second order is a repeat too)
    select
        credited.rep_id,
        credited.account_id,
        credited.order_date,
        count(*) as orders_on_day
    from {{ ref('int_orders__credited') }} as credited
    inner join history_window
        on credited.order_date > history_window.after_day and credited.order_date <= history_window.last_day
    where credited.order_status = 'completed'
    group by credited.rep_id, credited.account_id, credited.order_date

),

sequenced as (

    -- each order day with the account's order days before and after it (for this rep)
    select
        rep_id,
        account_id,
        order_date,
        orders_on_day,
        lag(order_date) over (partition by rep_id, account_id order by order_date) as previous_order_date,
        coalesce(
            lead(order_date) over (partition by rep_id, account_id order by order_date),
            cast('9999-12-31' as date)
        ) as next_order_date
    from account_days

),

periods as (

    -- periods that have started (a period of future targets has no purchases to rate)
    {%- if is_incremental() and scoped() %}
        select
            period_grain,
            period_start,
            period_end,
            cast({{ dbt.dateadd('month', -12, 'period_end') }} as date) as window_after
        from {{ ref('int_scope__periods') }}
    {%- else %}
        select distinct
            period_grain,
            period_start,
            period_end,
            cast({{ dbt.dateadd('month', -12, 'period_end') }} as date) as window_after
        from {{ ref('int_calendar__date_periods') }}
    {%- endif %}
    where period_start <= (select max(all_orders.order_date) from {{ ref('int_orders__credited') }} as all_orders)

),

per_account as (

    -- One row per account with an order in the 12 months up to the period's last day: its
    -- last order day on or before that day, when within the 12 months. It is a repeat
    -- customer when that day had two orders or the order day before it is in the window too.
    -- (Joining each period to every order of its 12 months was 55 s of a 10M-line build.)
    select
        sequenced.rep_id,
        periods.period_grain,
        periods.period_start,
        case
            when sequenced.orders_on_day >= 2 or sequenced.previous_order_date > periods.window_after then 1
            else 0
        end as is_repeat
    from periods
    inner join sequenced
        on
            periods.period_end >= sequenced.order_date
            and periods.period_end < sequenced.next_order_date
            and periods.window_after < sequenced.order_date

)

select
    rep_id,
    period_grain,
    period_start,
    count(*) as customers_12m,
    sum(is_repeat) as repeat_customers_12m
from per_account
group by rep_id, period_grain, period_start
