with

source as (

    select
        training_id,
        rep_id,
        completed_at,
        hours,
        {{ load_metadata() | indent(8) }}
    from {{ source('hr', 'training') }}

),

renamed as (

    select
        trim(training_id) as training_id,
        trim(rep_id) as rep_id,
        {{ to_local_timestamp('completed_at') }} as completed_at,
        {{ to_number('hours') }} as hours,
        {{ load_metadata() | indent(8) }}
    from source

)

select * from renamed
