-- An account's first ever completed order; its rep wins the new customer (KPI new_customers).
-- Incremental: a run re-ranks the accounts of the orders in int_scope__orders and keeps
-- the first order day it replaces (previous_first_order_date), so int_scope__days can
-- recompute both the day that lost the new customer and the day that won it.
-- depends_on: {{ ref('int_scope__orders') }}
-- depends_on: {{ ref('int_scope__replaced') }}
-- depends_on: {{ ref('int_orders__validated') }}
{{ config(
    materialized=scoped_materialization(),
    incremental_strategy='delete+insert',
    unique_key='account_id',
) }}
{%- set scope = run_scope() %}
{%- set scoped_run = is_incremental() and scoped() %}
{%- set in_affected = 'account_id in (select affected_accounts.account_id from affected_accounts)' %}

with

{% if scoped_run -%}
affected_accounts as (

    -- the account each order in scope belongs to now, or belonged to before this run
    select orders.account_id
    from {{ ref('int_orders__validated') }} as orders
    inner join {{ ref('int_scope__orders') }} as changed on orders.order_id = changed.order_id
    union
    select ref_id as account_id
    from {{ ref('int_scope__replaced') }}
    where entity = 'orders/orders' and ref_id is not null

),

{% endif -%}

account_orders as (

    select
        account_id,
        rep_id,
        order_date,
        order_id
    from {{ ref('int_orders__credited') }}
    where
        order_status = 'completed'
        and {{ in_affected if scoped_run else '1 = 1' }}

),

ranked as (

    select
        account_id,
        rep_id,
        order_date,
        order_id,
        row_number() over (partition by account_id order by order_date, order_id) as order_rank
    from account_orders

),

firsts as (

    select
        account_id,
        rep_id,
        order_date as first_order_date,
        order_id as first_order_id
    from ranked
    where order_rank = 1

)

{% if scoped_run %}

    select
        affected_accounts.account_id,
        firsts.rep_id,
        firsts.first_order_date,
        firsts.first_order_id,
        previous.first_order_date as previous_first_order_date,
        {{ changed_at(scope) }} as _changed_at
    from affected_accounts
    left join firsts on affected_accounts.account_id = firsts.account_id
    left join {{ this }} as previous on affected_accounts.account_id = previous.account_id

{% else %}

    select
        account_id,
        rep_id,
        first_order_date,
        first_order_id,
        cast(null as date) as previous_first_order_date,
        {{ changed_at(scope) }} as _changed_at
    from firsts

{% endif %}
