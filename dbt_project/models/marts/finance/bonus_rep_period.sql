-- What each rep is paid per period. Bonus = base bonus x tier coefficient of the composite.
-- Red-line penalties and clawbacks are deducted; what a payout cannot absorb is carried
-- to the next period: carried_out(t) = max(0, carried_out(t-1) + deductions(t) - bonus(t)),
-- computed as S(t) - min(0, min S(k<=t)) with S the running sum of deductions - bonus.
with

base as (

    select
        rep_id,
        period_grain,
        period_start,
        base_bonus,
        currency
    from {{ ref('int_base_bonus__validated') }}

),

plan as (

    select
        plan_version,
        base_currency
    from {{ ref('stg_plan_rules__plan_info') }}

),

bonus_grains as (

    select distinct period_grain from base

),

penalties as (

    select
        violations.rep_id,
        periods.period_grain,
        periods.period_start,
        sum(coalesce(violations.penalty_amount, 0)) as new_penalty_amount
    from {{ ref('int_violations__validated') }} as violations
    inner join {{ ref('int_calendar__date_periods') }} as periods
        on cast(violations.occurred_at as date) = periods.date_day
    where
        violations.severity = 'red_line'
        and periods.period_grain in (select bonus_grains.period_grain from bonus_grains)
    group by violations.rep_id, periods.period_grain, periods.period_start

),

keys as (

    select
        rep_id,
        period_grain,
        period_start
    from base
    union
    select
        rep_id,
        period_grain,
        period_start
    from penalties

),

scorecards as (

    select
        rep_id,
        period_grain,
        period_start,
        composite_score
    from {{ ref('scorecard_rep_period') }}

),

tiers as (

    select
        tier,
        min_pct,
        max_pct,
        coefficient
    from {{ ref('stg_plan_rules__bonus_tiers') }}

),

closed as (

    select
        period_grain,
        period_start
    from {{ source('control', 'closed_periods') }}

),

priced as (

    select
        keys.rep_id,
        keys.period_grain,
        keys.period_start,
        scorecards.composite_score,
        coalesce(tiers.tier, 'not_scored') as tier,
        coalesce(tiers.coefficient, 0) as coefficient,
        coalesce(base.base_bonus, 0) as base_bonus,
        coalesce(base.currency, plan.base_currency) as currency,
        round(coalesce(base.base_bonus, 0) * coalesce(tiers.coefficient, 0), 2) as bonus_amount,
        coalesce(penalties.new_penalty_amount, 0) as new_penalty_amount,
        cast(0 as decimal(18, 2)) as clawback_amount,
        plan.plan_version,
        closed.period_start is not null as is_closed
    from keys
    cross join plan
    left join base
        on
            keys.rep_id = base.rep_id
            and keys.period_grain = base.period_grain
            and keys.period_start = base.period_start
    left join penalties
        on
            keys.rep_id = penalties.rep_id
            and keys.period_grain = penalties.period_grain
            and keys.period_start = penalties.period_start
    left join scorecards
        on
            keys.rep_id = scorecards.rep_id
            and keys.period_grain = scorecards.period_grain
            and keys.period_start = scorecards.period_start
    left join tiers
        on
            scorecards.composite_score >= tiers.min_pct
            and (tiers.max_pct is null or scorecards.composite_score < tiers.max_pct)
    left join closed
        on
            keys.period_grain = closed.period_grain
            and keys.period_start = closed.period_start

),

running as (

    select
        priced.*,
        sum(priced.new_penalty_amount + priced.clawback_amount - priced.bonus_amount) over (
            partition by priced.rep_id, priced.period_grain
            order by priced.period_start rows between unbounded preceding and current row
        ) as running_balance
    from priced

),

carried as (

    select
        running.*,
        running.running_balance - least(0, min(running.running_balance) over (
            partition by running.rep_id, running.period_grain
            order by running.period_start rows between unbounded preceding and current row
        )) as carried_out_amount
    from running

),

settled as (

    select
        carried.*,
        coalesce(lag(carried.carried_out_amount) over (
            partition by carried.rep_id, carried.period_grain order by carried.period_start
        ), 0) as carried_in_amount
    from carried

)

select
    rep_id,
    period_grain,
    period_start,
    cast(composite_score as decimal(18, 4)) as composite_score,
    tier,
    cast(coefficient as decimal(9, 4)) as coefficient,
    cast(base_bonus as decimal(18, 2)) as base_bonus,
    cast(bonus_amount as decimal(18, 2)) as bonus_amount,
    cast(new_penalty_amount as decimal(18, 2)) as new_penalty_amount,
    cast(carried_in_amount as decimal(18, 2)) as carried_in_amount,
    -- Everything deducted against this period: its red-line penalties plus the carried-in remainder.
    cast(new_penalty_amount + carried_in_amount as decimal(18, 2)) as penalty_amount,
    cast(clawback_amount as decimal(18, 2)) as clawback_amount,
    cast(greatest(0, bonus_amount - new_penalty_amount - carried_in_amount - clawback_amount) as decimal(18, 2))
        as payout_amount,
    cast(carried_out_amount as decimal(18, 2)) as carried_out_amount,
    currency,
    plan_version,
    cast('{{ var("run_id") }}' as {{ dbt.type_string() }}) as run_id,
    is_closed
from settled
