{{ latest_valid_rows('stg_crm__opportunities', 'crm/opportunities', ['opportunity_id'], 'updated_at') }}
