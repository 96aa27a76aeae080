with

source as (

    select
        complaint_id,
        account_id,
        rep_id,
        opened_at,
        severity,
        resolved_at,
        {{ load_metadata() | indent(8) }}
    from {{ source('surveys', 'complaints') }}

),

renamed as (

    select
        trim(complaint_id) as complaint_id,
        trim(account_id) as account_id,
        trim(rep_id) as rep_id,
        {{ to_local_timestamp('opened_at') }} as opened_at,
        lower(trim(severity)) as severity,
        {{ to_local_timestamp('resolved_at') }} as resolved_at,
        {{ load_metadata() | indent(8) }}
    from source

)

select * from renamed
