{{ latest_valid_rows(
    'stg_orders__orders', 'orders/orders', ['order_id'], 'updated_at',
    ref_id='account_id', days=['order_date'],
) }}
