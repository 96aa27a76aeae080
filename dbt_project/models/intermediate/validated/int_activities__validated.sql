{{ latest_valid_rows('stg_crm__activities', 'crm/activities', ['activity_id'], days=['cast(activity_at as date)']) }}
