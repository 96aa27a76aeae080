-- Late data for closed periods. A closed period never changes: returns booked into it
-- after it was closed, and red-line violations that occurred in it but arrived after,
-- are settled in the next open period of the same grain. For returns, the points they
-- would have cost the closed composite (through revenue and gross profit attainment) are
-- computed here; bonus_rep_period turns them into the clawback of the bonus overpaid.
with

closed as (

    select
        period_grain,
        period_start,
        closed_at
    from {{ source('control', 'closed_periods') }}

),

open_periods as (

    select distinct
        periods.period_grain,
        periods.period_start
    from {{ ref('int_calendar__date_periods') }} as periods
    where {{ is_open_period('periods') }}

),

next_open as (

    select
        closed.period_grain,
        closed.period_start as closed_start,
        coalesce(
            min(open_periods.period_start),
            {{ next_period_start('closed.period_grain', 'closed.period_start') }}
        ) as settle_start
    from closed
    left join open_periods
        on
            closed.period_grain = open_periods.period_grain
            and closed.period_start < open_periods.period_start
    group by closed.period_grain, closed.period_start

),

late_returns as (

    select
        returns.rep_id,
        closed.period_grain,
        closed.period_start as closed_start,
        sum(returns.amount_base) as late_return_amount,
        sum(returns.cost_base) as late_return_cost
    from {{ ref('int_returns__credited') }} as returns
    inner join {{ ref('int_calendar__date_periods') }} as periods on returns.return_date = periods.date_day
    inner join closed
        on
            periods.period_grain = closed.period_grain
            and periods.period_start = closed.period_start
    where returns.loaded_at > closed.closed_at
    group by returns.rep_id, closed.period_grain, closed.period_start

),

frozen_kpis as (

    select
        kpis.rep_id,
        kpis.period_grain,
        kpis.period_start,
        kpis.kpi_code,
        kpis.actual_value,
        kpis.target_value,
        kpis.attainment_pct,
        kpis.effective_weight_pct,
        kpis.is_scored,
        kpis.is_higher_better,
        kpis.cap_pct
    from {{ ref('kpi_rep_period') }} as kpis
    inner join closed
        on
            kpis.period_grain = closed.period_grain
            and kpis.period_start = closed.period_start
    where kpis.kpi_code in ('revenue', 'gross_profit') and kpis.is_scored

),

points_lost as (

    select
        late_returns.rep_id,
        late_returns.period_grain,
        late_returns.closed_start,
        sum(
            frozen_kpis.effective_weight_pct
            * (
                frozen_kpis.attainment_pct - coalesce({{ attainment_pct(
                    "frozen_kpis.actual_value - case frozen_kpis.kpi_code
                        when 'revenue' then late_returns.late_return_amount
                        else late_returns.late_return_amount - late_returns.late_return_cost end",
                    'frozen_kpis.target_value', 'frozen_kpis.is_higher_better', 'frozen_kpis.cap_pct'
                ) }}, 0)
            ) / 100.0
        ) as composite_points_lost
    from late_returns
    inner join frozen_kpis
        on
            late_returns.rep_id = frozen_kpis.rep_id
            and late_returns.period_grain = frozen_kpis.period_grain
            and late_returns.closed_start = frozen_kpis.period_start
    group by late_returns.rep_id, late_returns.period_grain, late_returns.closed_start

),

late_penalties as (

    select
        violations.rep_id,
        closed.period_grain,
        closed.period_start as closed_start,
        sum(coalesce(violations.penalty_amount, 0)) as late_penalty_amount
    from {{ ref('int_violations__validated') }} as violations
    inner join {{ ref('int_calendar__date_periods') }} as periods
        on cast(violations.occurred_at as date) = periods.date_day
    inner join closed
        on
            periods.period_grain = closed.period_grain
            and periods.period_start = closed.period_start
    where violations.severity = 'red_line' and violations._loaded_at > closed.closed_at
    group by violations.rep_id, closed.period_grain, closed.period_start

),

adjustments as (

    select
        rep_id,
        period_grain,
        closed_start
    from late_returns
    union
    select
        rep_id,
        period_grain,
        closed_start
    from late_penalties

)

select
    adjustments.rep_id,
    adjustments.period_grain,
    adjustments.closed_start,
    next_open.settle_start,
    coalesce(late_returns.late_return_amount, 0) as late_return_amount,
    coalesce(points_lost.composite_points_lost, 0) as composite_points_lost,
    coalesce(late_penalties.late_penalty_amount, 0) as late_penalty_amount
from adjustments
inner join next_open
    on
        adjustments.period_grain = next_open.period_grain
        and adjustments.closed_start = next_open.closed_start
left join late_returns
    on
        adjustments.rep_id = late_returns.rep_id
        and adjustments.period_grain = late_returns.period_grain
        and adjustments.closed_start = late_returns.closed_start
left join points_lost
    on
        adjustments.rep_id = points_lost.rep_id
        and adjustments.period_grain = points_lost.period_grain
        and adjustments.closed_start = points_lost.closed_start
left join late_penalties
    on
        adjustments.rep_id = late_penalties.rep_id
        and adjustments.period_grain = late_penalties.period_grain
        and adjustments.closed_start = late_penalties.closed_start
