{{ latest_valid_rows(
    'stg_plans__base_bonus', 'plans/base_bonus', ['rep_id', 'period_grain', 'period_start'],
    days=['period_start'],
) }}
