{{ latest_valid_rows('stg_hr__violations', 'hr/violations', ['violation_id']) }}
