with

source as (

    select
        rep_id,
        rep_name,
        role,
        team_id,
        manager_rep_id,
        region,
        hire_date,
        is_active,
        updated_at,
        {{ load_metadata() | indent(8) }}
    from {{ source('crm', 'reps') }}

),

renamed as (

    select
        trim(rep_id) as rep_id,
        rep_name,
        lower(trim(role)) as role,
        trim(team_id) as team_id,
        trim(manager_rep_id) as manager_rep_id,
        region,
        {{ to_local_date('hire_date') }} as hire_date,
        {{ to_boolean('is_active') }} as is_active,
        {{ to_local_timestamp('updated_at') }} as updated_at,
        {{ load_metadata() | indent(8) }}
    from source

)

select * from renamed
