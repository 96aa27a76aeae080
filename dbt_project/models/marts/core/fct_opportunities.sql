-- Incremental: a run rebuilds the opportunities in int_scope__opportunities.
-- depends_on: {{ ref('int_scope__opportunities') }}
{{ config(
    materialized=scoped_materialization(),
    incremental_strategy='append',
    on_schema_change='append_new_columns',
    pre_hook="{{ delete_scope_opportunities() }}",
) }}

with

opportunities as (

    select
        opportunity_id,
        account_id,
        owner_rep_id,
        stage,
        amount,
        currency,
        created_at,
        close_date,
        is_closed,
        is_won
    from {{ ref('int_opportunities__validated') }}
    {%- if is_incremental() and scoped() %}
        where opportunity_id in (select opportunity_id from {{ ref('int_scope__opportunities') }})
    {%- endif %}

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

)

select
    opportunities.opportunity_id,
    opportunities.account_id,
    opportunities.owner_rep_id,
    opportunities.stage,
    opportunities.currency,
    cast(opportunities.amount as decimal(18, 2)) as amount,
    -- Converted at the close date's rate (the created date's while open).
    cast(round(
        opportunities.amount
        * case
            when opportunities.currency = plan.base_currency or opportunities.currency is null then 1
            else fx.rate_to_base
        end,
        2
    ) as decimal(18, 2)) as amount_base,
    opportunities.created_at,
    opportunities.close_date,
    coalesce(opportunities.is_won, false) as is_won,
    coalesce(opportunities.is_closed, false) as is_closed
from opportunities
cross join plan
left join fx
    on
        opportunities.currency = fx.currency
        and coalesce(opportunities.close_date, cast(opportunities.created_at as date)) = fx.rate_date
