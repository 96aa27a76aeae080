-- The periods this run recomputes (macros/run_scope.sql), at every grain: those holding a
-- day in scope, the period after each (its growth KPIs compare with the one before), and
-- every period whose trailing 12 months hold such a day or that started or stopped being
-- started by the last order day (repeat purchase rate). A changed rep or team (role, team,
-- region, name) or plan rules (weights, caps, tiers: ingestion/run_scope.py) recompute
-- every period.
{{ config(materialized='table') }}
{%- set since = scope_since() -%}
{%- set rescore_all = run_scope().all_periods -%}

with

all_periods as (

    select distinct
        period_grain,
        period_start,
        period_end
    from {{ ref('int_calendar__date_periods') }}

),

holding_periods as (
    {% for grain in var('grains') %}
        select distinct
            '{{ grain }}' as period_grain,
            {{ period_start(grain, 'date_day') }} as period_start
        from {{ ref('int_scope__days') }}
        {% if not loop.last %}union all{% endif %}
    {%- endfor %}
),

next_periods as (

    select
        all_periods.period_grain,
        all_periods.period_start
    from all_periods
    inner join holding_periods
        on
            all_periods.period_grain = holding_periods.period_grain
            and {{ previous_period_start('all_periods.period_grain', 'all_periods.period_start') }}
            = holding_periods.period_start

),

trailing_periods as (

    select
        all_periods.period_grain,
        all_periods.period_start
    from all_periods
    inner join {{ ref('int_scope__days') }} as scoped
        on
            all_periods.period_end >= scoped.date_day
            and cast({{ dbt.dateadd('month', -12, 'all_periods.period_end') }} as date) < scoped.date_day

),

last_unchanged_order_day as (

    -- The last order day outside the scope's days: the same before this run and after it
    -- (a changed order's days, old and new, are all in scope).
    select max(credited.order_date) as order_day
    from {{ ref('int_order_lines__credited') }} as credited
    where credited.order_date not in (select scope_days.date_day from {{ ref('int_scope__days') }} as scope_days)

),

newly_started as (

    -- The repeat purchase rate rates the periods started by the last order day, which this
    -- run moves within (last unchanged order day, last scope day]: a period starting there
    -- may have started or stopped being started. A week without any order is not held
    -- by the day orders resume, nor do its trailing 12 months hold that day.
    select
        all_periods.period_grain,
        all_periods.period_start
    from all_periods
    cross join last_unchanged_order_day
    where
        all_periods.period_start > coalesce(last_unchanged_order_day.order_day, cast('1900-01-01' as date))
        and all_periods.period_start <= (
            select max(scope_days.date_day) from {{ ref('int_scope__days') }} as scope_days
        )

),

people_changed as (

    select rep_id as person_key
    from {{ ref('int_reps__validated') }}
    where _changed_at > {{ since }}
    union
    select team_id as person_key
    from {{ ref('int_teams__validated') }}
    where _changed_at > {{ since }}
    union
    select record_key as person_key
    from {{ ref('int_scope__replaced') }}
    where entity in ('crm/reps', 'crm/teams')

),

scoped as (

    select
        period_grain,
        period_start
    from holding_periods
    union
    select
        period_grain,
        period_start
    from next_periods
    union
    select
        period_grain,
        period_start
    from trailing_periods
    union
    select
        period_grain,
        period_start
    from newly_started
    union
    select
        period_grain,
        period_start
    from all_periods
    where {% if rescore_all %}true{% else %}exists (select 1 from people_changed){% endif %}

)

-- only periods that exist (hold an event or a plan row), as on a full build
select
    all_periods.period_grain,
    all_periods.period_start,
    all_periods.period_end
from all_periods
inner join scoped
    on all_periods.period_grain = scoped.period_grain and all_periods.period_start = scoped.period_start
