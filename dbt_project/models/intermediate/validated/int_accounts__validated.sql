{{ latest_valid_rows('stg_crm__accounts', 'crm/accounts', ['account_id'], 'updated_at') }}
