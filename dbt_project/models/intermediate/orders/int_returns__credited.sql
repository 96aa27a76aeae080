-- Returns booked on their return date, credited to the order's rep, at the order date's FX rate;
-- the cost of the returned goods is reversed with them.
-- Incremental: a run rebuilds the returns of the orders in int_scope__orders (a changed
-- return puts its order there, as a changed order, line, account or FX rate does).
-- depends_on: {{ ref('int_scope__orders') }}
{{ config(
    materialized=scoped_materialization(),
    incremental_strategy='append',
    pre_hook="{{ delete_scope_orders() }}",
) }}

with

returns as (

    select
        return_id,
        order_line_id,
        return_date,
        quantity,
        amount,
        _batch_id,
        _loaded_at
    from {{ ref('int_returns__validated') }}

),

lines as (

    select
        order_line_id,
        order_id,
        order_date,
        account_id,
        rep_id,
        channel,
        order_status,
        fx_rate,
        unit_cost
    from {{ ref('int_order_lines__credited') }}
    where {{ in_scope_orders() }}

)

select
    returns.return_id,
    returns.order_line_id,
    lines.order_id,
    lines.order_date,
    returns.return_date,
    lines.account_id,
    lines.rep_id,
    lines.channel,
    returns.quantity,
    round(returns.amount * lines.fx_rate, 2) as amount_base,
    round(returns.quantity * lines.unit_cost * lines.fx_rate, 2) as cost_base,
    returns._batch_id as batch_id,
    returns._loaded_at as loaded_at
from returns
inner join lines on returns.order_line_id = lines.order_line_id
where lines.order_status = 'completed'
