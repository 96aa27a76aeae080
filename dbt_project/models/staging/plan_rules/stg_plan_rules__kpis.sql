select
    kpi_code,
    perspective,
    is_higher_better,
    cap_pct
from {{ source('plan_rules', 'kpis') }}
