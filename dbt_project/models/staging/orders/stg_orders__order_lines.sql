with

source as (

    select
        order_line_id,
        order_id,
        product_id,
        quantity,
        unit_price,
        unit_cost,
        discount,
        {{ load_metadata() | indent(8) }}
    from {{ source('orders', 'order_lines') }}

),

renamed as (

    select
        trim(order_line_id) as order_line_id,
        trim(order_id) as order_id,
        trim(product_id) as product_id,
        {{ to_number('quantity') }} as quantity,
        {{ to_number('unit_price') }} as unit_price,
        {{ to_number('unit_cost') }} as unit_cost,
        {{ to_number('discount') }} as discount,
        {{ load_metadata() | indent(8) }}
    from source

)

select * from renamed
