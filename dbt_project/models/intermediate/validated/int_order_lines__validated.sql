{{ latest_valid_rows('stg_orders__order_lines', 'orders/order_lines', ['order_line_id'], ref_id='order_id') }}
