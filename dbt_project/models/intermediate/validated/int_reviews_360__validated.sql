{{ latest_valid_rows('stg_surveys__reviews_360', 'surveys/reviews_360', ['review_id'], days=['period_start']) }}
