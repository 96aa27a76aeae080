select
    relation,
    weight_pct
from {{ source('plan_rules', 'review_360_weights') }}
