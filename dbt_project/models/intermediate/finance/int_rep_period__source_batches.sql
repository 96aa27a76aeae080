-- The load batches (landing files) behind each rep's figures of a period: those of its days
-- (int_rep_day__source_batches), targets and base bonuses. Recorded on bonus rows.
-- Incremental: a run rebuilds the periods in int_scope__periods.
-- depends_on: {{ ref('int_scope__periods') }}
{{ config(
    materialized=scoped_materialization(),
    incremental_strategy='append',
    pre_hook="{{ delete_scope_periods() }}",
) }}

with

periods as (

    select
        all_periods.date_day,
        all_periods.period_grain,
        all_periods.period_start
    from {{ ref('int_calendar__date_periods') }} as all_periods
    where {{ in_scope_periods('all_periods') }}

),

per_period as (

    select distinct
        dated.rep_id,
        periods.period_grain,
        periods.period_start,
        dated.batch_id
    from {{ ref('int_rep_day__source_batches') }} as dated
    inner join periods on dated.date_day = periods.date_day
    union
    select
        targets.rep_id,
        targets.period_grain,
        targets.period_start,
        targets._batch_id as batch_id
    from {{ ref('int_targets__validated') }} as targets
    where {{ in_scope_periods('targets') }}
    union
    select
        base_bonus.rep_id,
        base_bonus.period_grain,
        base_bonus.period_start,
        base_bonus._batch_id as batch_id
    from {{ ref('int_base_bonus__validated') }} as base_bonus
    where {{ in_scope_periods('base_bonus') }}

)

select
    rep_id,
    period_grain,
    period_start,
    {{ dbt.listagg('batch_id', "','", 'order by batch_id') }} as source_batches
from per_period
group by rep_id, period_grain, period_start
