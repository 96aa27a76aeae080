{{ latest_valid_rows(
    'stg_orders__fx_rates', 'orders/fx_rates', ['rate_date', 'currency'],
    ref_id='currency', days=['rate_date'],
) }}
