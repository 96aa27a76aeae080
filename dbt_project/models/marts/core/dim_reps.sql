with

versions as (

    select
        rep_id,
        version_number,
        rep_name,
        role,
        team_id,
        manager_rep_id,
        region,
        hire_date,
        is_active,
        valid_from,
        valid_to,
        is_current
    from {{ ref('int_reps__versions') }}

),

teams as (

    select
        team_id,
        team_name
    from {{ ref('int_teams__validated') }}

)

select
    versions.rep_id,
    cast(versions.version_number as integer) as version_number,
    versions.rep_name,
    versions.role,
    versions.team_id,
    teams.team_name,
    versions.manager_rep_id,
    versions.region,
    versions.hire_date,
    versions.is_active,
    versions.valid_from,
    versions.valid_to,
    versions.is_current
from versions
left join teams on versions.team_id = teams.team_id
