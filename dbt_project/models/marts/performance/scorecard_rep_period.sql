-- depends_on: {{ ref('int_scope__periods') }}
-- Balanced scorecard per rep and period: the weighted KPI scores split by perspective,
-- minus minor-violation points, ranked in team and company, with the coaching flag.
with

scored as (

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
        attainment_pct,
        effective_weight_pct,
        actual_value,
        is_scored,
        weighted_score
    from {{ ref('int_kpi__scored') }}

),

plan as (

    select
        coaching_threshold_pct,
        minor_violation_points
    from {{ ref('stg_plan_rules__plan_info') }}

),

reps as (

    select
        rep_id,
        rep_name
    from {{ ref('int_reps__validated') }}

),

minor_violations as (

    select
        violations.rep_id,
        periods.period_grain,
        periods.period_start,
        count(*) as minor_violations
    from {{ ref('int_violations__validated') }} as violations
    inner join {{ ref('int_calendar__date_periods') }} as periods
        on cast(violations.occurred_at as date) = periods.date_day
    where violations.severity = 'minor'
    group by violations.rep_id, periods.period_grain, periods.period_start

),

per_rep as (

    select
        rep_id,
        role,
        team_id,
        region,
        period_grain,
        period_start,
        period_end,
        sum(case when perspective = 'financial' then weighted_score else 0 end) as financial_score,
        sum(case when perspective = 'customer' then weighted_score else 0 end) as customer_score,
        sum(case when perspective = 'process' then weighted_score else 0 end) as process_score,
        sum(case when perspective = 'learning' then weighted_score else 0 end) as learning_score,
        sum(weighted_score) as weighted_total,
        sum(case when is_scored then 1 else 0 end) as scored_kpis,
        max(case when kpi_code = 'revenue' then actual_value end) as revenue
    from scored
    group by rep_id, role, team_id, region, period_grain, period_start, period_end

),

coaching_kpis as (

    -- KPIs that pulled the score down: scored below 100%, largest lost points first.
    select
        rep_id,
        period_grain,
        period_start,
        {{ dbt.listagg('kpi_code', "','", "order by effective_weight_pct * (100 - attainment_pct) desc, kpi_code") }}
            as coaching_kpis
    from scored
    where is_scored and attainment_pct < 100
    group by rep_id, period_grain, period_start

),

composed as (

    select
        per_rep.*,
        coalesce(minor_violations.minor_violations, 0) as minor_violations,
        cast(coalesce(minor_violations.minor_violations, 0) * plan.minor_violation_points as decimal(18, 4))
            as minor_deduction_points,
        case
            when per_rep.scored_kpis > 0
                then greatest(
                    cast(0 as decimal(18, 4)),
                    per_rep.weighted_total
                    - cast(
                        coalesce(minor_violations.minor_violations, 0) * plan.minor_violation_points as decimal(18, 4)
                    )
                )
        end as composite_score,
        plan.coaching_threshold_pct
    from per_rep
    cross join plan
    left join minor_violations
        on
            per_rep.rep_id = minor_violations.rep_id
            and per_rep.period_grain = minor_violations.period_grain
            and per_rep.period_start = minor_violations.period_start

)

select
    composed.rep_id,
    reps.rep_name,
    composed.role,
    composed.team_id,
    composed.region,
    composed.period_grain,
    composed.period_start,
    composed.period_end,
    cast(composed.financial_score as decimal(18, 4)) as financial_score,
    cast(composed.customer_score as decimal(18, 4)) as customer_score,
    cast(composed.process_score as decimal(18, 4)) as process_score,
    cast(composed.learning_score as decimal(18, 4)) as learning_score,
    cast(composed.weighted_total as decimal(18, 4)) as weighted_total,
    cast(composed.minor_violations as integer) as minor_violations,
    composed.minor_deduction_points,
    cast(composed.composite_score as decimal(18, 4)) as composite_score,
    cast(composed.scored_kpis as integer) as scored_kpis,
    cast(composed.revenue as decimal(20, 4)) as revenue,
    cast(case when composed.composite_score is not null then rank() over (
        partition by
            composed.period_grain, composed.period_start, composed.team_id,
            case when composed.composite_score is null then 1 else 0 end
        order by composed.composite_score desc, coalesce(composed.revenue, 0) desc
    ) end as integer) as rank_in_team,
    cast(case when composed.composite_score is not null then rank() over (
        partition by
            composed.period_grain, composed.period_start,
            case when composed.composite_score is null then 1 else 0 end
        order by composed.composite_score desc, coalesce(composed.revenue, 0) desc
    ) end as integer) as rank_in_company,
    coalesce(composed.composite_score < composed.coaching_threshold_pct, false) as coaching_flag,
    case when composed.composite_score < composed.coaching_threshold_pct then coaching_kpis.coaching_kpis end
        as coaching_kpis,
    -- Year's best sales person: top annual composite among sales reps, ties to higher revenue.
    coalesce(
        composed.period_grain = 'year'
        and composed.role = 'sales'
        and composed.composite_score is not null
        and rank() over (
            partition by
                composed.period_grain, composed.period_start, composed.role,
                case when composed.composite_score is null then 1 else 0 end
            order by composed.composite_score desc, coalesce(composed.revenue, 0) desc
        ) = 1,
        false
    ) as is_best_of_year
from composed
left join reps on composed.rep_id = reps.rep_id
left join coaching_kpis
    on
        composed.rep_id = coaching_kpis.rep_id
        and composed.period_grain = coaching_kpis.period_grain
        and composed.period_start = coaching_kpis.period_start
where {{ is_open_period('composed') }}
