select
    role,
    kpi_code,
    weight_pct
from {{ source('plan_rules', 'role_weights') }}
