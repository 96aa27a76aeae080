with

source as (

    select
        lead_id,
        owner_rep_id,
        source,
        created_at,
        status,
        converted_account_id,
        {{ load_metadata() | indent(8) }}
    from {{ source('crm', 'leads') }}

),

renamed as (

    select
        trim(lead_id) as lead_id,
        trim(owner_rep_id) as owner_rep_id,
        source,
        {{ to_local_timestamp('created_at') }} as created_at,
        lower(trim(status)) as status,
        trim(converted_account_id) as converted_account_id,
        {{ load_metadata() | indent(8) }}
    from source

)

select * from renamed
