with

source as (

    select
        response_id,
        account_id,
        rep_id,
        survey_type,
        score,
        submitted_at,
        {{ load_metadata() | indent(8) }}
    from {{ source('surveys', 'responses') }}

),

renamed as (

    select
        trim(response_id) as response_id,
        trim(account_id) as account_id,
        trim(rep_id) as rep_id,
        lower(trim(survey_type)) as survey_type,
        {{ to_number('score') }} as score,
        {{ to_local_timestamp('submitted_at') }} as submitted_at,
        {{ load_metadata() | indent(8) }}
    from source

)

select * from renamed
