{{ latest_valid_rows('stg_hr__training', 'hr/training', ['training_id'], days=['cast(completed_at as date)']) }}
