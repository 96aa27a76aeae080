{{ latest_valid_rows('stg_crm__teams', 'crm/teams', ['team_id']) }}
