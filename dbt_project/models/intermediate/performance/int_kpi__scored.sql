-- Attainment and weighted score of every KPI for every rep and period.
-- Attainment: actual / target (higher is better) or target / actual (lower is better; a zero
-- actual against a positive target earns the cap), capped per KPI. A KPI without a target
-- or without data is reported but not scored; under `renormalize` its weight is spread
-- over the scored KPIs of the role.
with

spine as (

    select
        rep_id,
        period_grain,
        period_start,
        period_end,
        role,
        team_id,
        region
    from {{ ref('int_rep_period__spine') }}

),

kpis as (

    select
        kpi_code,
        perspective,
        is_higher_better,
        cap_pct
    from {{ ref('stg_plan_rules__kpis') }}

),

weights as (

    select
        role,
        kpi_code,
        weight_pct
    from {{ ref('stg_plan_rules__role_weights') }}

),

plan as (

    select missing_target from {{ ref('stg_plan_rules__plan_info') }}

),

actuals as (

    select
        rep_id,
        period_grain,
        period_start,
        kpi_code,
        actual_value
    from {{ ref('int_kpi__actuals') }}

),

targets as (

    select
        rep_id,
        period_grain,
        period_start,
        kpi_code,
        target_value
    from {{ ref('int_targets__validated') }}

),

joined as (

    select
        spine.rep_id,
        spine.role,
        spine.team_id,
        spine.region,
        spine.period_grain,
        spine.period_start,
        spine.period_end,
        kpis.kpi_code,
        kpis.perspective,
        kpis.is_higher_better,
        kpis.cap_pct,
        actuals.actual_value,
        targets.target_value,
        coalesce(weights.weight_pct, 0) as weight_pct
    from spine
    cross join kpis
    left join weights on spine.role = weights.role and kpis.kpi_code = weights.kpi_code
    left join actuals
        on
            spine.rep_id = actuals.rep_id
            and spine.period_grain = actuals.period_grain
            and spine.period_start = actuals.period_start
            and kpis.kpi_code = actuals.kpi_code
    left join targets
        on
            spine.rep_id = targets.rep_id
            and spine.period_grain = targets.period_grain
            and spine.period_start = targets.period_start
            and kpis.kpi_code = targets.kpi_code

),

attained as (

    select
        *,
        {{ attainment_pct('actual_value', 'target_value', 'is_higher_better', 'cap_pct') }} as attainment_pct
    from joined

),

weighted as (

    select
        attained.*,
        attained.weight_pct > 0 and attained.attainment_pct is not null as is_scored,
        sum(
            case
                when attained.weight_pct > 0 and attained.attainment_pct is not null then attained.weight_pct else 0
            end
        )
            over (partition by attained.rep_id, attained.period_grain, attained.period_start) as scored_weight_pct
    from attained

),

effective as (

    select
        weighted.rep_id,
        weighted.role,
        weighted.team_id,
        weighted.region,
        weighted.period_grain,
        weighted.period_start,
        weighted.period_end,
        weighted.kpi_code,
        weighted.perspective,
        weighted.is_higher_better,
        weighted.cap_pct,
        weighted.actual_value,
        weighted.target_value,
        weighted.attainment_pct,
        weighted.weight_pct,
        weighted.is_scored,
        case
            when not weighted.is_scored then 0
            when plan.missing_target = 'renormalize' then weighted.weight_pct * 100.0 / weighted.scored_weight_pct
            else weighted.weight_pct
        end as effective_weight_pct
    from weighted
    cross join plan

)

select
    rep_id,
    role,
    team_id,
    region,
    period_grain,
    period_start,
    period_end,
    kpi_code,
    perspective,
    is_higher_better,
    cap_pct,
    actual_value,
    target_value,
    attainment_pct,
    weight_pct,
    is_scored,
    effective_weight_pct,
    -- Rounded once here; composites are sums of these exact values.
    cast(round(effective_weight_pct * coalesce(attainment_pct, 0) / 100.0, 4) as decimal(18, 4)) as weighted_score
from effective
