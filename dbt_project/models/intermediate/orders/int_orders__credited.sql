-- One row per order with a credited line: its rep, account, day and status. The account
-- KPIs (new customers, repeat purchase) count orders, not lines: they read these rows, a
-- third as many as the lines.
-- Incremental: a run rebuilds the orders in int_scope__orders, as their lines are.
-- depends_on: {{ ref('int_scope__orders') }}
{{ config(
    materialized=scoped_materialization(),
    incremental_strategy='append',
    pre_hook="{{ delete_scope_orders() }}",
) }}

select
    order_id,
    order_date,
    account_id,
    rep_id,
    order_status
from {{ ref('int_order_lines__credited') }}
where {{ in_scope_orders() }}
group by order_id, order_date, account_id, rep_id, order_status
