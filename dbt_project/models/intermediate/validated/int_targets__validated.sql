{{ latest_valid_rows(
    'stg_plans__targets', 'plans/targets', ['rep_id', 'kpi_code', 'period_grain', 'period_start'],
    days=['period_start'],
) }}
