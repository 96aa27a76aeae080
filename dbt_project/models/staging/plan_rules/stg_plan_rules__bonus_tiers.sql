select
    tier,
    min_pct,
    max_pct,
    coefficient
from {{ source('plan_rules', 'bonus_tiers') }}
