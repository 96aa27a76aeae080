with

source as (

    select
        order_id,
        account_id,
        rep_id,
        channel,
        order_date,
        currency,
        status,
        updated_at,
        {{ load_metadata() | indent(8) }}
    from {{ source('orders', 'orders') }}

),

renamed as (

    select
        trim(order_id) as order_id,
        trim(account_id) as account_id,
        trim(rep_id) as rep_id,
        lower(trim(channel)) as channel,
        {{ to_local_date('order_date') }} as order_date,
        upper(trim(currency)) as currency,
        lower(trim(status)) as status,
        {{ to_local_timestamp('updated_at') }} as updated_at,
        {{ load_metadata() | indent(8) }}
    from source

)

select * from renamed
