{{ latest_valid_rows('stg_orders__returns', 'orders/returns', ['return_id']) }}
