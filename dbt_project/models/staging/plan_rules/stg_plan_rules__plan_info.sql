select
    plan_version,
    base_currency,
    timezone,
    missing_target,
    coaching_threshold_pct,
    minor_violation_points,
    recommendation_history_periods,
    recommendation_low_pct,
    recommendation_high_pct
from {{ source('plan_rules', 'plan_info') }}
