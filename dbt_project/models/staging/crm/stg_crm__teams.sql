with

source as (

    select
        team_id,
        team_name,
        region,
        parent_team_id,
        {{ load_metadata() | indent(8) }}
    from {{ source('crm', 'teams') }}

),

renamed as (

    select
        trim(team_id) as team_id,
        team_name,
        region,
        trim(parent_team_id) as parent_team_id,
        {{ load_metadata() | indent(8) }}
    from source

)

select * from renamed
