with

source as (

    select
        rate_date,
        currency,
        rate_to_base,
        {{ load_metadata() | indent(8) }}
    from {{ source('orders', 'fx_rates') }}

),

renamed as (

    select
        {{ to_local_date('rate_date') }} as rate_date,
        upper(trim(currency)) as currency,
        {{ to_number('rate_to_base') }} as rate_to_base,
        {{ load_metadata() | indent(8) }}
    from source

)

select * from renamed
