-- What the feedback talk needs, per rep, period and KPI of the rep's role: actual against
-- target and against the team median, the KPI's rank among the rep's KPIs (strongest first),
-- and the trend over the two periods before; the rep's composite against the team median.
-- Incremental: a run rebuilds, per grain, every period from the first one in
-- int_scope__periods on (a changed period moves the trend columns of the ones after it),
-- reading the two rows before it of each rep and KPI for the trend.
-- depends_on: {{ ref('int_scope__periods') }}
{{ config(
    materialized=scoped_materialization(),
    incremental_strategy='append',
    on_schema_change='append_new_columns',
    pre_hook="{{ delete_from_first_scope_period() }}",
) }}
with

all_kpis as (

    select
        rep_id,
        team_id,
        role,
        kpi_code,
        perspective,
        period_grain,
        period_start,
        actual_value,
        target_value,
        attainment_pct,
        weight_pct,
        weighted_score
    from {{ ref('kpi_rep_period') }}
    where weight_pct > 0 and period_grain in ('month', 'quarter', 'year')

),

all_scorecards as (

    select
        rep_id,
        rep_name,
        team_id,
        period_grain,
        period_start,
        composite_score,
        coaching_flag
    from {{ ref('scorecard_rep_period') }}

),

-- the rows this run writes (is_rebuilt) and, on an incremental run, the two rows before
-- them of each rep and KPI: the trend columns' lags read those
kpis as (
    {{ rows_to_rebuild_with_lags('all_kpis', ['rep_id', 'kpi_code'], [
        'rep_id', 'team_id', 'role', 'kpi_code', 'perspective', 'period_grain', 'period_start',
        'actual_value', 'target_value', 'attainment_pct', 'weight_pct', 'weighted_score',
    ]) }}
),

scorecards as (
    {{ rows_to_rebuild_with_lags('all_scorecards', ['rep_id'], [
        'rep_id', 'rep_name', 'team_id', 'period_grain', 'period_start', 'composite_score',
        'coaching_flag',
    ]) }}
),

team_kpi_medians as (

    select
        team_id,
        kpi_code,
        period_grain,
        period_start,
        {{ median('actual_value') }} as team_median_actual,
        {{ median('attainment_pct') }} as team_median_attainment_pct
    from kpis
    where is_rebuilt
    group by team_id, kpi_code, period_grain, period_start

),

team_composite_medians as (

    select
        team_id,
        period_grain,
        period_start,
        {{ median('composite_score') }} as team_median_composite
    from scorecards
    group by team_id, period_grain, period_start

),

with_history as (

    select
        kpis.*,
        lag(kpis.attainment_pct, 1) over (
            partition by kpis.rep_id, kpis.kpi_code, kpis.period_grain order by kpis.period_start
        ) as attainment_pct_prev_1,
        lag(kpis.attainment_pct, 2) over (
            partition by kpis.rep_id, kpis.kpi_code, kpis.period_grain order by kpis.period_start
        ) as attainment_pct_prev_2,
        row_number() over (
            partition by kpis.rep_id, kpis.period_grain, kpis.period_start
            order by kpis.attainment_pct desc nulls last, kpis.weight_pct desc, kpis.kpi_code asc
        ) as strength_rank,
        count(kpis.attainment_pct) over (
            partition by kpis.rep_id, kpis.period_grain, kpis.period_start
        ) as scored_kpis
    from kpis

),

rep_history as (

    select
        scorecards.*,
        lag(scorecards.composite_score, 1) over (
            partition by scorecards.rep_id, scorecards.period_grain order by scorecards.period_start
        ) as composite_prev_1,
        lag(scorecards.composite_score, 2) over (
            partition by scorecards.rep_id, scorecards.period_grain order by scorecards.period_start
        ) as composite_prev_2
    from scorecards

)

select
    with_history.rep_id,
    rep_history.rep_name,
    with_history.team_id,
    with_history.role,
    with_history.period_grain,
    with_history.period_start,
    with_history.kpi_code,
    with_history.perspective,
    cast(with_history.actual_value as decimal(20, 4)) as actual_value,
    cast(with_history.target_value as decimal(20, 4)) as target_value,
    cast(with_history.attainment_pct as decimal(18, 4)) as attainment_pct,
    cast(with_history.weight_pct as decimal(9, 4)) as weight_pct,
    cast(with_history.weighted_score as decimal(18, 4)) as weighted_score,
    cast(team_kpi_medians.team_median_actual as decimal(20, 4)) as team_median_actual,
    cast(team_kpi_medians.team_median_attainment_pct as decimal(18, 4)) as team_median_attainment_pct,
    cast(with_history.attainment_pct_prev_1 as decimal(18, 4)) as attainment_pct_prev_1,
    cast(with_history.attainment_pct_prev_2 as decimal(18, 4)) as attainment_pct_prev_2,
    cast(with_history.strength_rank as integer) as strength_rank,
    with_history.attainment_pct is not null and with_history.strength_rank = 1 as is_strongest,
    with_history.attainment_pct is not null and with_history.strength_rank = with_history.scored_kpis
    and with_history.scored_kpis > 1 as is_weakest,
    cast(rep_history.composite_score as decimal(18, 4)) as composite_score,
    cast(team_composite_medians.team_median_composite as decimal(18, 4)) as team_median_composite,
    cast(rep_history.composite_prev_1 as decimal(18, 4)) as composite_prev_1,
    cast(rep_history.composite_prev_2 as decimal(18, 4)) as composite_prev_2,
    rep_history.coaching_flag
from with_history
left join team_kpi_medians
    on
        with_history.team_id = team_kpi_medians.team_id
        and with_history.kpi_code = team_kpi_medians.kpi_code
        and with_history.period_grain = team_kpi_medians.period_grain
        and with_history.period_start = team_kpi_medians.period_start
left join rep_history
    on
        with_history.rep_id = rep_history.rep_id
        and with_history.period_grain = rep_history.period_grain
        and with_history.period_start = rep_history.period_start
left join team_composite_medians
    on
        with_history.team_id = team_composite_medians.team_id
        and with_history.period_grain = team_composite_medians.period_grain
        and with_history.period_start = team_composite_medians.period_start
where with_history.is_rebuilt
