{{ latest_valid_rows('stg_crm__markets', 'crm/markets', ['market_id']) }}
