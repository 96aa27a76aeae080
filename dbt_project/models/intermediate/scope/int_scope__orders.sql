-- The orders whose credited lines this run rebuilds (macros/run_scope.sql): changed
-- orders, the orders a changed line or return belongs to now or belonged to before
-- (int_scope__replaced), and the orders of a changed account, market or FX rate.
-- `order_changed` is false for an order here only for a return of one of its lines: the
-- order's own day and its other returns count as before (int_scope__days leaves them out).
-- Empty on a full build (everything is rebuilt).
-- depends_on: {{ ref('int_scope__replaced') }}
{{ config(materialized='table') }}
{%- set since = scope_since() -%}

with

replaced_rows as (

    select
        entity,
        record_key,
        ref_id,
        date_day
    from {{ ref('int_scope__replaced') }}

),

returned_lines as (

    select returns.order_line_id
    from {{ ref('int_returns__validated') }} as returns
    where returns._changed_at > {{ since }}
    union
    select ref_id as order_line_id
    from replaced_rows
    where entity = 'orders/returns'

),

changed_accounts as (

    select account_id
    from {{ ref('int_accounts__validated') }}
    where _changed_at > {{ since }}
    union
    select accounts.account_id
    from {{ ref('int_accounts__validated') }} as accounts
    inner join {{ ref('int_markets__validated') }} as markets on accounts.market_id = markets.market_id
    where markets._changed_at > {{ since }}

),

changed_fx as (

    select
        rate_date,
        currency
    from {{ ref('int_fx_rates__validated') }}
    where _changed_at > {{ since }}

),

changed_orders as (

    select order_id
    from {{ ref('int_orders__validated') }}
    where _changed_at > {{ since }}
    union
    select record_key as order_id
    from replaced_rows
    where entity = 'orders/orders'
    union
    select order_id
    from {{ ref('int_order_lines__validated') }}
    where _changed_at > {{ since }}
    union
    select ref_id as order_id
    from replaced_rows
    where entity = 'orders/order_lines'
    union
    select orders.order_id
    from {{ ref('int_orders__validated') }} as orders
    inner join changed_accounts on orders.account_id = changed_accounts.account_id
    union
    select orders.order_id
    from {{ ref('int_orders__validated') }} as orders
    inner join changed_fx on orders.currency = changed_fx.currency and orders.order_date = changed_fx.rate_date
    union
    -- a replaced_rows FX rate (its (date, currency) may have no current version)
    select orders.order_id
    from {{ ref('int_orders__validated') }} as orders
    inner join replaced_rows
        on
            replaced_rows.entity = 'orders/fx_rates'
            and orders.currency = replaced_rows.ref_id
            and orders.order_date = replaced_rows.date_day

),

returned_orders as (

    select distinct order_lines.order_id
    from {{ ref('int_order_lines__validated') }} as order_lines
    inner join returned_lines on order_lines.order_line_id = returned_lines.order_line_id

)

select
    order_id,
    true as order_changed
from changed_orders
union all
select
    returned_orders.order_id,
    false as order_changed
from returned_orders
left join changed_orders on returned_orders.order_id = changed_orders.order_id
where changed_orders.order_id is null
