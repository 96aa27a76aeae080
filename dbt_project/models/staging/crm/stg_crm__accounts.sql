with

source as (

    select
        account_id,
        account_name,
        industry,
        region,
        market_id,
        owner_rep_id,
        created_at,
        updated_at,
        {{ load_metadata() | indent(8) }}
    from {{ source('crm', 'accounts') }}

),

renamed as (

    select
        trim(account_id) as account_id,
        account_name,
        industry,
        region,
        trim(market_id) as market_id,
        trim(owner_rep_id) as owner_rep_id,
        {{ to_local_timestamp('created_at') }} as created_at,
        {{ to_local_timestamp('updated_at') }} as updated_at,
        {{ load_metadata() | indent(8) }}
    from source

)

select * from renamed
