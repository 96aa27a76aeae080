{{ latest_valid_rows('stg_orders__products', 'orders/products', ['product_id']) }}
