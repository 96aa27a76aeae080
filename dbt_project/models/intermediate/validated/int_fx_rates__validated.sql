{{ latest_valid_rows('stg_orders__fx_rates', 'orders/fx_rates', ['rate_date', 'currency']) }}
