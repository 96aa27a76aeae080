with

source as (

    select
        violation_id,
        rep_id,
        occurred_at,
        severity,
        penalty_amount,
        description,
        {{ load_metadata() | indent(8) }}
    from {{ source('hr', 'violations') }}

),

renamed as (

    select
        trim(violation_id) as violation_id,
        trim(rep_id) as rep_id,
        {{ to_local_timestamp('occurred_at') }} as occurred_at,
        lower(trim(severity)) as severity,
        {{ to_number('penalty_amount') }} as penalty_amount,
        description,
        {{ load_metadata() | indent(8) }}
    from source

)

select * from renamed
