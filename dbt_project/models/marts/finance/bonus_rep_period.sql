-- What each rep is paid per period. Bonus = base bonus x tier coefficient of the composite.
-- Red-line penalties and clawbacks are deducted; what a payout cannot absorb is carried
-- to the next period: carried_out(t) = max(0, carried_out(t-1) + deductions(t) - bonus(t)),
-- computed as S(t) - min(0, min S(k<=t)) with S the running sum of deductions - bonus.
-- Rows of closed periods are frozen in this table (see macros/closed_periods.sql); late
-- data for them arrives here as clawbacks and penalties of the next open period.
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

tiers as (

    select
        tier,
        min_pct,
        max_pct,
        coefficient
    from {{ ref('stg_plan_rules__bonus_tiers') }}

),

bonus_grains as (

    select distinct period_grain from base

),

frozen as (

    {% if is_incremental() %}
        select
            rep_id,
            period_grain,
            period_start,
            composite_score,
            base_bonus,
            bonus_amount,
            new_penalty_amount,
            clawback_amount
        from {{ this }}
        where is_closed
    {% else %}
        select
            cast(null as {{ dbt.type_string() }}) as rep_id,
            cast(null as {{ dbt.type_string() }}) as period_grain,
            cast(null as date) as period_start,
            cast(null as decimal(18, 4)) as composite_score,
            cast(null as decimal(18, 2)) as base_bonus,
            cast(null as decimal(18, 2)) as bonus_amount,
            cast(null as decimal(18, 2)) as new_penalty_amount,
            cast(null as decimal(18, 2)) as clawback_amount
        where 1 = 0
    {% endif %}

),

penalties as (

    -- Red-line violations of open periods (late ones for closed periods come as adjustments).
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
        and {{ is_open_period('periods') }}
    group by violations.rep_id, periods.period_grain, periods.period_start

),

clawbacks as (

    -- Bonus a closed period overpaid because of returns booked into it after closing:
    -- its frozen bonus minus the bonus its composite would have earned without those points.
    select
        adjustments.rep_id,
        adjustments.period_grain,
        adjustments.settle_start as period_start,
        sum(
            greatest(
                0,
                frozen.bonus_amount
                - round(frozen.base_bonus * coalesce(tiers.coefficient, 0), 2)
            )
        ) as clawback_amount,
        sum(adjustments.late_penalty_amount) as late_penalty_amount
    from {{ ref('int_bonus__late_adjustments') }} as adjustments
    left join frozen
        on
            adjustments.rep_id = frozen.rep_id
            and adjustments.period_grain = frozen.period_grain
            and adjustments.closed_start = frozen.period_start
    left join tiers
        on {{ in_tier('greatest(0, frozen.composite_score - adjustments.composite_points_lost)', 'tiers') }}
    where adjustments.period_grain in (select bonus_grains.period_grain from bonus_grains)
    group by adjustments.rep_id, adjustments.period_grain, adjustments.settle_start

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
    union
    select
        rep_id,
        period_grain,
        period_start
    from clawbacks

),

open_keys as (

    select
        keys.rep_id,
        keys.period_grain,
        keys.period_start
    from keys
    where
        not exists (
            select 1
            from frozen
            where
                frozen.rep_id = keys.rep_id
                and frozen.period_grain = keys.period_grain
                and frozen.period_start = keys.period_start
        )
    {% if is_incremental() %}
        and {{ is_open_period('keys') }}
    {% endif %}

),

scorecards as (

    select
        rep_id,
        period_grain,
        period_start,
        composite_score
    from {{ ref('scorecard_rep_period') }}

),

closed as (

    select
        period_grain,
        period_start
    from {{ source('control', 'closed_periods') }}

),

priced as (

    select
        open_keys.rep_id,
        open_keys.period_grain,
        open_keys.period_start,
        scorecards.composite_score,
        coalesce(tiers.tier, 'not_scored') as tier,
        coalesce(tiers.coefficient, 0) as coefficient,
        coalesce(base.base_bonus, 0) as base_bonus,
        coalesce(base.currency, plan.base_currency) as currency,
        round(coalesce(base.base_bonus, 0) * coalesce(tiers.coefficient, 0), 2) as bonus_amount,
        coalesce(penalties.new_penalty_amount, 0) + coalesce(clawbacks.late_penalty_amount, 0)
            as new_penalty_amount,
        coalesce(clawbacks.clawback_amount, 0) as clawback_amount,
        plan.plan_version,
        closed.period_start is not null as is_closed
    from open_keys
    cross join plan
    left join base
        on
            open_keys.rep_id = base.rep_id
            and open_keys.period_grain = base.period_grain
            and open_keys.period_start = base.period_start
    left join penalties
        on
            open_keys.rep_id = penalties.rep_id
            and open_keys.period_grain = penalties.period_grain
            and open_keys.period_start = penalties.period_start
    left join clawbacks
        on
            open_keys.rep_id = clawbacks.rep_id
            and open_keys.period_grain = clawbacks.period_grain
            and open_keys.period_start = clawbacks.period_start
    left join scorecards
        on
            open_keys.rep_id = scorecards.rep_id
            and open_keys.period_grain = scorecards.period_grain
            and open_keys.period_start = scorecards.period_start
    left join tiers on {{ in_tier('scorecards.composite_score', 'tiers') }}
    left join closed
        on
            open_keys.period_grain = closed.period_grain
            and open_keys.period_start = closed.period_start

),

chained as (

    -- Frozen rows take part in the carry-over chain with the values they were closed with.
    select
        rep_id,
        period_grain,
        period_start,
        new_penalty_amount + clawback_amount - bonus_amount as balance_change,
        true as is_frozen
    from frozen
    union all
    select
        rep_id,
        period_grain,
        period_start,
        new_penalty_amount + clawback_amount - bonus_amount as balance_change,
        false as is_frozen
    from priced

),

running as (

    select
        chained.*,
        sum(chained.balance_change) over (
            partition by chained.rep_id, chained.period_grain order by chained.period_start
            rows between unbounded preceding and current row
        ) as running_balance
    from chained

),

carried as (

    select
        running.*,
        running.running_balance - least(0, min(running.running_balance) over (
            partition by running.rep_id, running.period_grain order by running.period_start
            rows between unbounded preceding and current row
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

),

current_run as (

    select coalesce(max(run_id), 'manual') as run_id from {{ source('control', 'current_run') }}

),

sources as (

    select
        rep_id,
        period_grain,
        period_start,
        source_batches
    from {{ ref('int_rep_period__source_batches') }}

)

select
    priced.rep_id,
    priced.period_grain,
    priced.period_start,
    cast(priced.composite_score as decimal(18, 4)) as composite_score,
    priced.tier,
    cast(priced.coefficient as decimal(9, 4)) as coefficient,
    cast(priced.base_bonus as decimal(18, 2)) as base_bonus,
    cast(priced.bonus_amount as decimal(18, 2)) as bonus_amount,
    cast(priced.new_penalty_amount as decimal(18, 2)) as new_penalty_amount,
    cast(settled.carried_in_amount as decimal(18, 2)) as carried_in_amount,
    -- Everything deducted against this period: its red-line penalties plus the carried-in remainder.
    cast(priced.new_penalty_amount + settled.carried_in_amount as decimal(18, 2)) as penalty_amount,
    cast(priced.clawback_amount as decimal(18, 2)) as clawback_amount,
    cast(greatest(
        0, priced.bonus_amount - priced.new_penalty_amount - settled.carried_in_amount - priced.clawback_amount
    ) as decimal(18, 2)) as payout_amount,
    cast(settled.carried_out_amount as decimal(18, 2)) as carried_out_amount,
    priced.currency,
    priced.plan_version,
    current_run.run_id,
    priced.is_closed,
    sources.source_batches
from priced
cross join current_run
inner join settled
    on
        priced.rep_id = settled.rep_id
        and priced.period_grain = settled.period_grain
        and priced.period_start = settled.period_start
        and not settled.is_frozen
left join sources
    on
        priced.rep_id = sources.rep_id
        and priced.period_grain = sources.period_grain
        and priced.period_start = sources.period_start
