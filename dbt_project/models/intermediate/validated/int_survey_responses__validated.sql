{{ latest_valid_rows('stg_surveys__responses', 'surveys/responses', ['response_id']) }}
