-- Incremental: a run rebuilds the lines of the orders in int_scope__orders.
-- depends_on: {{ ref('int_scope__orders') }}
{{ config(
    materialized=scoped_materialization(),
    incremental_strategy='append',
    on_schema_change='append_new_columns',
    pre_hook="{{ delete_scope_orders() }}",
) }}

with

lines as (

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
        quantity,
        net_amount,
        net_amount_base,
        cost_base
    from {{ ref('int_order_lines__credited') }}
    where {{ in_scope_orders() }}

),

returned as (

    select
        order_line_id,
        sum(quantity) as returned_quantity,
        sum(amount_base) as returned_amount_base
    from {{ ref('int_returns__credited') }}
    where {{ in_scope_orders() }}
    group by order_line_id

)

select
    lines.order_line_id,
    lines.order_id,
    lines.order_date,
    lines.account_id,
    lines.rep_id,
    lines.channel,
    lines.order_status,
    lines.currency,
    lines.product_id,
    cast(lines.quantity as decimal(18, 4)) as quantity,
    cast(lines.net_amount as decimal(18, 2)) as net_amount,
    cast(lines.net_amount_base as decimal(18, 2)) as net_amount_base,
    cast(lines.cost_base as decimal(18, 2)) as cost_base,
    returned.order_line_id is not null as is_returned,
    cast(coalesce(returned.returned_quantity, 0) as decimal(18, 4)) as returned_quantity,
    cast(coalesce(returned.returned_amount_base, 0) as decimal(18, 2)) as returned_amount_base
from lines
left join returned on lines.order_line_id = returned.order_line_id
