{{ latest_valid_rows('stg_crm__leads', 'crm/leads', ['lead_id'], days=['cast(created_at as date)']) }}
