-- Revenue per credited rep, channel and day: completed lines on their order day, less
-- returns on their return day. kpi_rep_channel_period sums these days per period, so a
-- year-to-date period reads a year of days, not a year of order lines.
-- Incremental: a run rebuilds the days in int_scope__days.
-- depends_on: {{ ref('int_scope__days') }}
{{ config(
    materialized=scoped_materialization(),
    incremental_strategy='append',
    pre_hook="{{ delete_scope_days() }}",
) }}

with

movements as (

    select
        rep_id,
        channel,
        order_date as date_day,
        net_amount_base as amount
    from {{ ref('int_order_lines__credited') }}
    where order_status = 'completed' and {{ in_scope_days('order_date') }}
    union all
    select
        rep_id,
        channel,
        return_date as date_day,
        -amount_base as amount
    from {{ ref('int_returns__credited') }}
    where {{ in_scope_days('return_date') }}

)

select
    rep_id,
    channel,
    date_day,
    cast(sum(amount) as {{ rep_metric_type("line_revenue") }}) as revenue
from movements
where date_day is not null
group by rep_id, channel, date_day
