{{ latest_valid_rows(
    'stg_orders__returns', 'orders/returns', ['return_id'],
    ref_id='order_line_id', days=['return_date'],
) }}
