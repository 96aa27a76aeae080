{{ latest_valid_rows('stg_crm__reps', 'crm/reps', ['rep_id'], 'updated_at') }}
