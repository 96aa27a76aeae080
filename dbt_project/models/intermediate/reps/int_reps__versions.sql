-- Rep history as validity intervals (SCD2): each distinct updated_at is a version.
-- The first version is valid from the beginning, so early facts find their rep.
with

versions as (

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
        row_number() over (
            partition by rep_id, updated_at order by _loaded_at desc, _batch_id desc, _row_number desc
        ) as copy_rank
    from {{ ref('stg_crm__reps') }} as reps
    where
        rep_id is not null
        and not exists (
            select 1
            from {{ ref('int_quality__row_rejects') }} as rejects
            where
                rejects.entity = 'crm/reps'
                and rejects.batch_id = reps._batch_id
                and rejects.row_number = reps._row_number
        )

),

ordered as (

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
        row_number() over (partition by rep_id order by updated_at) as version_number,
        lead(updated_at) over (partition by rep_id order by updated_at) as next_updated_at
    from versions
    where copy_rank = 1

)

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
    case when version_number = 1 then cast('1900-01-01' as {{ dbt.type_timestamp() }}) else updated_at end
        as valid_from,
    next_updated_at as valid_to,
    next_updated_at is null as is_current
from ordered
