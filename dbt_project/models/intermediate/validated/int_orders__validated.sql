{{ latest_valid_rows('stg_orders__orders', 'orders/orders', ['order_id'], 'updated_at') }}
