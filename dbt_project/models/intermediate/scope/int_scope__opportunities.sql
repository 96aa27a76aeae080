-- Opportunities fct_opportunities rebuilds: changed or replaced ones, and those converted
-- at a changed FX rate (int_scope__replaced keeps a replaced rate's currency and day).
-- Empty on a full build (everything is rebuilt).
{{ config(materialized='table') }}
{%- set since = scope_since() -%}

with

changed_rates as (

    select
        currency,
        rate_date
    from {{ ref('int_fx_rates__validated') }}
    where _changed_at > {{ since }}
    union
    select
        ref_id as currency,
        date_day as rate_date
    from {{ ref('int_scope__replaced') }}
    where entity = 'orders/fx_rates'

)

select opportunity_id
from {{ ref('int_opportunities__validated') }}
where _changed_at > {{ since }}
union
select record_key as opportunity_id
from {{ ref('int_scope__replaced') }}
where entity = 'crm/opportunities'
union
select opportunities.opportunity_id
from {{ ref('int_opportunities__validated') }} as opportunities
inner join changed_rates
    on
        opportunities.currency = changed_rates.currency
        and coalesce(opportunities.close_date, cast(opportunities.created_at as date)) = changed_rates.rate_date
