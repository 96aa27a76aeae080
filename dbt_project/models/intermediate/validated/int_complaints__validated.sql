{{ latest_valid_rows(
    'stg_surveys__complaints', 'surveys/complaints', ['complaint_id'], days=['cast(opened_at as date)'],
) }}
