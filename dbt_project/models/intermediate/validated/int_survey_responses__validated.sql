{{ latest_valid_rows(
    'stg_surveys__responses', 'surveys/responses', ['response_id'], days=['cast(submitted_at as date)'],
) }}
