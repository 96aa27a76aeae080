{{ latest_valid_rows('stg_hr__violations', 'hr/violations', ['violation_id'], days=['cast(occurred_at as date)']) }}
