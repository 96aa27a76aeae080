with

source as (

    select
        return_id,
        order_line_id,
        return_date,
        quantity,
        amount,
        {{ load_metadata() | indent(8) }}
    from {{ source('orders', 'returns') }}

),

renamed as (

    select
        trim(return_id) as return_id,
        trim(order_line_id) as order_line_id,
        {{ to_local_date('return_date') }} as return_date,
        {{ to_number('quantity') }} as quantity,
        {{ to_number('amount') }} as amount,
        {{ load_metadata() | indent(8) }}
    from source

)

select * from renamed
