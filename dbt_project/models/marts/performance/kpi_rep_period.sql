-- depends_on: {{ ref('int_scope__periods') }}
select
    rep_id,
    kpi_code,
    perspective,
    period_grain,
    period_start,
    period_end,
    role,
    team_id,
    cast(actual_value as decimal(20, 4)) as actual_value,
    cast(target_value as decimal(20, 4)) as target_value,
    cast(attainment_pct as decimal(18, 4)) as attainment_pct,
    cast(weight_pct as decimal(9, 4)) as weight_pct,
    cast(effective_weight_pct as decimal(9, 4)) as effective_weight_pct,
    cast(weighted_score as decimal(18, 4)) as weighted_score,
    is_scored,
    is_higher_better,
    cast(cap_pct as decimal(9, 4)) as cap_pct
from {{ ref('int_kpi__scored') }} as scored
where {{ is_open_period('scored') }}
