with

source as (

    select
        product_id,
        product_name,
        category,
        list_price,
        standard_cost,
        {{ load_metadata() | indent(8) }}
    from {{ source('orders', 'products') }}

),

renamed as (

    select
        trim(product_id) as product_id,
        product_name,
        category,
        {{ to_number('list_price') }} as list_price,
        {{ to_number('standard_cost') }} as standard_cost,
        {{ load_metadata() | indent(8) }}
    from source

)

select * from renamed
