-- Plan validation on data: a target for a KPI the rep's role does not score is a mistake in
-- the plan files (it would be reported but never paid). Fails the run before publishing.
{{ config(severity='error', meta={'dagster': {'ref': {'name': 'int_targets__validated'}}}) }}

select
    targets.rep_id,
    spine.role,
    targets.kpi_code,
    targets.period_grain,
    targets.period_start,
    targets._source_file as source_file,
    targets._row_number as row_number
from {{ ref('int_targets__validated') }} as targets
inner join {{ ref('int_rep_period__spine') }} as spine
    on
        targets.rep_id = spine.rep_id
        and targets.period_grain = spine.period_grain
        and targets.period_start = spine.period_start
where not exists (
    select 1
    from {{ ref('stg_plan_rules__role_weights') }} as weights
    where weights.role = spine.role and weights.kpi_code = targets.kpi_code
)
