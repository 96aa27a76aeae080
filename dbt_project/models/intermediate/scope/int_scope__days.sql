-- depends_on: {{ ref('int_scope__orders') }}
-- The days this run recomputes (macros/run_scope.sql): the partition window, plus every
-- day any version of a changed row falls on, so a row that moved day or rep, or was
-- rejected or released, leaves no stale sum behind. Empty of changes on a full build.
{{ config(materialized='table') }}
{%- set scope = run_scope() -%}
{#- On a full build nothing counts as changed: no row is newer than the year 9999. -#}
{%- set since = scope_timestamp(scope.changed_since if scope.changed_since is not none else '9999-12-31 00:00:00') -%}
{#- (validated model, staging model, entity, key columns, day expressions) -#}
{%- set day_entities = [
    ('int_returns__validated', 'stg_orders__returns', 'orders/returns', ['return_id'], ['return_date']),
    ('int_survey_responses__validated', 'stg_surveys__responses', 'surveys/responses', ['response_id'],
        ['cast(submitted_at as date)']),
    ('int_complaints__validated', 'stg_surveys__complaints', 'surveys/complaints', ['complaint_id'],
        ['cast(opened_at as date)']),
    ('int_activities__validated', 'stg_crm__activities', 'crm/activities', ['activity_id'],
        ['cast(activity_at as date)']),
    ('int_leads__validated', 'stg_crm__leads', 'crm/leads', ['lead_id'], ['cast(created_at as date)']),
    ('int_opportunities__validated', 'stg_crm__opportunities', 'crm/opportunities', ['opportunity_id'],
        ['cast(created_at as date)', 'close_date']),
    ('int_training__validated', 'stg_hr__training', 'hr/training', ['training_id'], ['cast(completed_at as date)']),
    ('int_violations__validated', 'stg_hr__violations', 'hr/violations', ['violation_id'], ['cast(occurred_at as date)']),
    ('int_reviews_360__validated', 'stg_surveys__reviews_360', 'surveys/reviews_360', ['review_id'], ['period_start']),
    ('int_targets__validated', 'stg_plans__targets', 'plans/targets', ['rep_id', 'kpi_code', 'period_grain', 'period_start'],
        ['period_start']),
    ('int_base_bonus__validated', 'stg_plans__base_bonus', 'plans/base_bonus', ['rep_id', 'period_grain', 'period_start'],
        ['period_start']),
] -%}

with

window_days as (

    select date_day
    from {{ ref('int_calendar__time_spine') }}
    {%- if scope.window_start is not none and scope.window_end is not none %}
        where
            date_day >= cast('{{ scope.window_start }}' as date)
            and date_day < cast('{{ scope.window_end }}' as date)
    {%- else %}
        where 1 = 0
    {%- endif %}

),

changed_days as (

    -- every version of a changed order
    select orders.order_date as date_day
    from {{ ref('stg_orders__orders') }} as orders
    inner join {{ ref('int_scope__orders') }} as changed_orders on orders.order_id = changed_orders.order_id
    union
    -- returns of the lines of changed orders (their rep, status or cost may have moved)
    select returns.return_date as date_day
    from {{ ref('int_returns__validated') }} as returns
    inner join {{ ref('int_order_lines__validated') }} as lines on returns.order_line_id = lines.order_line_id
    inner join {{ ref('int_scope__orders') }} as changed_orders on lines.order_id = changed_orders.order_id
    union
    -- the day an account's new customer moved from, and the day it moved to
    select first_order_date as date_day
    from {{ ref('int_accounts__first_orders') }}
    where _changed_at > {{ since }}
    union
    select previous_first_order_date as date_day
    from {{ ref('int_accounts__first_orders') }}
    where _changed_at > {{ since }}
    {%- for validated, staging, entity, keys, days in day_entities %}
        {%- for day in days %}
    union
    select {{ day }} as date_day
    from {{ ref(staging) }} as staged
    where exists (
        select 1
        from ({{ changed_entity_keys(validated, staging, entity, keys, since) }}) as changed
        where
            {% for key in keys -%}
                changed.{{ key }} = staged.{{ key }}{% if not loop.last %} and {% endif %}
            {%- endfor %}
    )
        {%- endfor %}
    {%- endfor %}

)

select date_day from window_days
union
select date_day from changed_days
where date_day is not null
