-- Proposed targets for the period after the latest one, per rep and role KPI: the mean of
-- the last N actuals (baseline) plus their least-squares trend gives the forecast; the
-- range is the forecast shifted by the plan's low/high percentages. History is the
-- published KPI mart (closed periods as they were frozen).
with

plan as (

    select
        recommendation_history_periods as history_periods,
        recommendation_low_pct as low_pct,
        recommendation_high_pct as high_pct
    from {{ ref('stg_plan_rules__plan_info') }}

),

history as (

    select
        rep_id,
        kpi_code,
        period_grain,
        period_start,
        actual_value,
        row_number() over (partition by rep_id, kpi_code, period_grain order by period_start desc) as recency
    from {{ ref('kpi_rep_period') }}
    where
        weight_pct > 0
        and actual_value is not null
        and period_grain in ('month', 'quarter')

),

latest as (

    select
        period_grain,
        max(period_start) as latest_start
    from history
    group by period_grain

),

window_rows as (

    select
        history.rep_id,
        history.kpi_code,
        history.period_grain,
        -- x runs 1..n from oldest to newest.
        plan.history_periods + 1 - history.recency as x,
        history.actual_value as y
    from history
    cross join plan
    where history.recency <= plan.history_periods

),

fitted as (

    select
        rep_id,
        kpi_code,
        period_grain,
        count(*) as n,
        avg(y) as baseline,
        avg(x) as mean_x,
        (count(*) * sum(x * y) - sum(x) * sum(y))
        / nullif(count(*) * sum(x * x) - sum(x) * sum(x), 0) as slope
    from window_rows
    group by rep_id, kpi_code, period_grain
    having count(*) >= 2

),

forecast as (

    select
        fitted.rep_id,
        fitted.kpi_code,
        fitted.period_grain,
        {{ next_period_start('fitted.period_grain', 'latest.latest_start') }} as period_start,
        fitted.n,
        fitted.baseline,
        coalesce(fitted.slope, 0) as slope,
        -- Next period sits at x = max x + 1 = (history window) + 1.
        fitted.baseline + coalesce(fitted.slope, 0) * (plan.history_periods + 1 - fitted.mean_x) as forecast_value,
        plan.history_periods,
        plan.low_pct,
        plan.high_pct
    from fitted
    inner join latest on fitted.period_grain = latest.period_grain
    cross join plan

)

select
    rep_id,
    kpi_code,
    period_grain,
    period_start,
    cast(baseline as decimal(20, 4)) as baseline,
    cast(slope as decimal(20, 4)) as trend_per_period,
    cast(forecast_value as decimal(20, 4)) as forecast_value,
    cast(greatest(0, forecast_value * (100 + low_pct) / 100.0) as decimal(20, 4)) as recommended_low,
    cast(greatest(0, forecast_value * (100 + high_pct) / 100.0) as decimal(20, 4)) as recommended_high,
    cast(n as integer) as history_periods_used,
    'linear_trend: mean and least-squares slope of the last ' || cast(history_periods as {{ dbt.type_string() }})
    || ' ' || period_grain || 's, forecast ' || cast(cast(low_pct as decimal(9, 1)) as {{ dbt.type_string() }})
    || '%/+' || cast(cast(high_pct as decimal(9, 1)) as {{ dbt.type_string() }}) || '%' as method
from forecast
