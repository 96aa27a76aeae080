-- The days this run recomputes (macros/run_scope.sql): the partition window, plus every
-- day a changed row counts on now (its current version, `_changed_at`) or counted on
-- before (int_scope__replaced), the days of the orders in int_scope__orders and of their
-- lines' returns (unless a return alone put the order there: a return counts on its own
-- day, above), and the old and new day of an account's first order that moved.
-- No changes on a full build (everything is rebuilt).
{{ config(materialized='table') }}
{%- set scope = run_scope() -%}
{%- set since = scope_since() -%}
{#- (validated model, day expressions) of the entities with a day of their own -#}
{%- set day_entities = [
    ('int_returns__validated', ['return_date']),
    ('int_survey_responses__validated', ['cast(submitted_at as date)']),
    ('int_complaints__validated', ['cast(opened_at as date)']),
    ('int_activities__validated', ['cast(activity_at as date)']),
    ('int_leads__validated', ['cast(created_at as date)']),
    ('int_opportunities__validated', ['cast(created_at as date)', 'case when is_closed then close_date end']),
    ('int_training__validated', ['cast(completed_at as date)']),
    ('int_violations__validated', ['cast(occurred_at as date)']),
    ('int_reviews_360__validated', ['period_start']),
    ('int_targets__validated', ['period_start']),
    ('int_base_bonus__validated', ['period_start']),
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

    -- the orders that changed themselves (not only by a return: its day is below)
    select orders.order_date as date_day
    from {{ ref('int_orders__validated') }} as orders
    inner join {{ ref('int_scope__orders') }} as changed_orders
        on orders.order_id = changed_orders.order_id and changed_orders.order_changed
    union
    -- returns of the lines of those orders (their rep, status or cost may have moved)
    select order_returns.return_date as date_day
    from {{ ref('int_returns__validated') }} as order_returns
    inner join {{ ref('int_order_lines__validated') }} as order_lines
        on order_returns.order_line_id = order_lines.order_line_id
    inner join {{ ref('int_scope__orders') }} as changed_orders
        on order_lines.order_id = changed_orders.order_id and changed_orders.order_changed
    union
    -- where replaced versions counted
    select date_day
    from {{ ref('int_scope__replaced') }}
    union
    -- the day an account's new customer moved from, and the day it moved to (a first
    -- order that moved within a day is a changed order of that day, in scope above)
    select first_order_date as date_day
    from {{ ref('int_accounts__first_orders') }}
    where
        _changed_at > {{ since }}
        and (first_order_date <> previous_first_order_date or previous_first_order_date is null)
    union
    select previous_first_order_date as date_day
    from {{ ref('int_accounts__first_orders') }}
    where
        _changed_at > {{ since }}
        and (first_order_date <> previous_first_order_date or first_order_date is null)
    {% for validated, days in day_entities -%}
        {% for day in days -%}
            union
            select {{ day }} as date_day
            from {{ ref(validated) }}
            where _changed_at > {{ since }}
        {% endfor -%}
    {% endfor %}

)

select date_day from window_days
union
select date_day from changed_days
where date_day is not null
