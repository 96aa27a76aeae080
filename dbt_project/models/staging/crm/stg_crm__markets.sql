with

source as (

    select
        market_id,
        market_name,
        is_new_market,
        {{ load_metadata() | indent(8) }}
    from {{ source('crm', 'markets') }}

),

renamed as (

    select
        trim(market_id) as market_id,
        market_name,
        {{ to_boolean('is_new_market') }} as is_new_market,
        {{ load_metadata() | indent(8) }}
    from source

)

select * from renamed
