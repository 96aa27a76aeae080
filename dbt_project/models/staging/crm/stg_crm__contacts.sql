with

source as (

    select
        contact_id,
        account_id,
        created_at,
        {{ load_metadata() | indent(8) }}
    from {{ source('crm', 'contacts') }}

),

renamed as (

    select
        trim(contact_id) as contact_id,
        trim(account_id) as account_id,
        {{ to_local_timestamp('created_at') }} as created_at,
        {{ load_metadata() | indent(8) }}
    from source

)

select * from renamed
