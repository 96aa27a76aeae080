{{ latest_valid_rows(
    'stg_crm__opportunities', 'crm/opportunities', ['opportunity_id'], 'updated_at',
    days=['cast(created_at as date)', 'close_date'],
) }}
