-- Order lines with the credited rep and amounts in the base currency (FX of the order date).
-- Incremental: a run rebuilds the lines of the orders in int_scope__orders.
-- depends_on: {{ ref('int_scope__orders') }}
{{ config(
    materialized=scoped_materialization(),
    incremental_strategy='append',
    pre_hook="{{ delete_scope_orders() }}",
) }}

with

orders as (

    select
        order_id,
        account_id,
        rep_id,
        channel,
        order_date,
        currency,
        status,
        _batch_id
    from {{ ref('int_orders__validated') }}
    where {{ in_scope_orders() }}

),

lines as (

    select
        order_line_id,
        order_id,
        product_id,
        quantity,
        unit_price,
        unit_cost,
        discount,
        _batch_id
    from {{ ref('int_order_lines__validated') }}

),

fx as (

    select
        rate_date,
        currency,
        rate_to_base
    from {{ ref('int_fx_rates__validated') }}

),

plan as (

    select base_currency from {{ ref('stg_plan_rules__plan_info') }}

),

converted as (

    select
        lines.order_line_id,
        lines.order_id,
        orders.order_date,
        orders.account_id,
        orders.rep_id,
        orders.channel,
        orders.status as order_status,
        orders.currency,
        lines.product_id,
        lines.quantity,
        orders._batch_id as order_batch_id,
        lines._batch_id as line_batch_id,
        case when orders.currency = plan.base_currency then 1 else fx.rate_to_base end as fx_rate,
        lines.quantity * lines.unit_price * (1 - coalesce(lines.discount, 0)) as net_amount,
        lines.quantity * coalesce(lines.unit_cost, 0) as cost_amount,
        coalesce(lines.unit_cost, 0) as unit_cost
    from lines
    inner join orders on lines.order_id = orders.order_id
    cross join plan
    left join fx
        on orders.currency = fx.currency and orders.order_date = fx.rate_date

)

select
    order_line_id,
    order_id,
    order_date,
    account_id,
    rep_id,
    channel,
    order_status,
    currency,
    product_id,
    -- stored as 64-bit decimals (macros/metrics.sql, rep_metric_type: 128-bit columns scan slowly)
    cast(quantity as decimal(18, 6)) as quantity,
    cast(unit_cost as decimal(18, 6)) as unit_cost,
    cast(fx_rate as decimal(18, 6)) as fx_rate,
    cast(round(net_amount, 2) as decimal(18, 2)) as net_amount,
    cast(round(net_amount * fx_rate, 2) as decimal(18, 2)) as net_amount_base,
    cast(round(cost_amount * fx_rate, 2) as decimal(18, 2)) as cost_base,
    order_batch_id,
    line_batch_id
from converted
where fx_rate is not null
