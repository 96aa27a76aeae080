-- One row per rep and period that has activity, a target or a review, with the rep's
-- role, team and region as they were at the end of the period. On an incremental run,
-- only the periods in int_scope__periods (everything downstream is scoped by it).
-- depends_on: {{ ref('int_scope__periods') }}
with

rep_periods as (

    select
        rep_id,
        period_grain,
        period_start
    from {{ ref('int_rep_period__metrics') }}
    union
    select
        rep_id,
        period_grain,
        period_start
    from {{ ref('int_targets__validated') }}
    where period_grain in ({{ "'" ~ var('grains') | join("', '") ~ "'" }})
    union
    select
        reviews.rep_id,
        periods.period_grain,
        periods.period_start
    from {{ ref('int_reviews_360__rep_period') }} as reviews
    inner join {{ ref('int_calendar__date_periods') }} as periods on reviews.period_start = periods.date_day

),

bounded as (

    select
        rep_id,
        period_grain,
        period_start,
        {{ period_end_by_grain('period_grain', 'period_start') }} as period_end
    from rep_periods
    where {{ in_scope_periods('rep_periods', incremental=false) }}

)

select
    bounded.rep_id,
    bounded.period_grain,
    bounded.period_start,
    bounded.period_end,
    versions.role,
    versions.team_id,
    versions.region,
    versions.rep_name
from bounded
inner join {{ ref('int_reps__versions') }} as versions
    on
        bounded.rep_id = versions.rep_id
        and versions.valid_from < cast({{ dbt.dateadd('day', 1, 'bounded.period_end') }} as {{ dbt.type_timestamp() }})
        and (
            versions.valid_to is null
            or versions.valid_to
            >= cast({{ dbt.dateadd('day', 1, 'bounded.period_end') }} as {{ dbt.type_timestamp() }})
        )
