-- The orders whose credited lines this run rebuilds (macros/run_scope.sql): changed
-- orders, the orders of every version of a changed line or return, and the orders touched
-- by a changed account, market or FX rate. Empty on a full build (everything is rebuilt).
{{ config(materialized='table') }}
{%- set scope = run_scope() -%}
{#- On a full build nothing counts as changed: no row is newer than the year 9999. -#}
{%- set since = scope_timestamp(scope.changed_since if scope.changed_since is not none else '9999-12-31 00:00:00') -%}
with

changed_lines as (

    {{ changed_entity_keys('int_order_lines__validated', 'stg_orders__order_lines', 'orders/order_lines',
        ['order_line_id'], since) }}
    union
    -- every line any version of a changed return was booked against
    select returns.order_line_id
    from {{ ref('stg_orders__returns') }} as returns
    inner join (
        {{ changed_entity_keys('int_returns__validated', 'stg_orders__returns', 'orders/returns', ['return_id'], since) }}
    ) as changed_returns on returns.return_id = changed_returns.return_id

),

changed_accounts as (

    {{ changed_entity_keys('int_accounts__validated', 'stg_crm__accounts', 'crm/accounts', ['account_id'], since) }}
    union
    select accounts.account_id
    from {{ ref('int_accounts__validated') }} as accounts
    inner join (
        {{ changed_entity_keys('int_markets__validated', 'stg_crm__markets', 'crm/markets', ['market_id'], since) }}
    ) as markets on accounts.market_id = markets.market_id

),

changed_fx as (

    {{ changed_entity_keys('int_fx_rates__validated', 'stg_orders__fx_rates', 'orders/fx_rates',
        ['rate_date', 'currency'], since) }}

)

{{ changed_entity_keys('int_orders__validated', 'stg_orders__orders', 'orders/orders', ['order_id'], since) }}
union
select lines.order_id
from {{ ref('stg_orders__order_lines') }} as lines
inner join changed_lines on lines.order_line_id = changed_lines.order_line_id
union
select orders.order_id
from {{ ref('int_orders__validated') }} as orders
inner join changed_accounts on orders.account_id = changed_accounts.account_id
union
select orders.order_id
from {{ ref('int_orders__validated') }} as orders
inner join changed_fx on orders.currency = changed_fx.currency and orders.order_date = changed_fx.rate_date
