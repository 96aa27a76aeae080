with

source as (

    select
        activity_id,
        rep_id,
        account_id,
        activity_type,
        activity_at,
        participants,
        impressions,
        {{ load_metadata() | indent(8) }}
    from {{ source('crm', 'activities') }}

),

renamed as (

    select
        trim(activity_id) as activity_id,
        trim(rep_id) as rep_id,
        trim(account_id) as account_id,
        lower(trim(activity_type)) as activity_type,
        {{ to_local_timestamp('activity_at') }} as activity_at,
        {{ to_integer('participants') }} as participants,
        {{ to_integer('impressions') }} as impressions,
        {{ load_metadata() | indent(8) }}
    from source

)

select * from renamed
