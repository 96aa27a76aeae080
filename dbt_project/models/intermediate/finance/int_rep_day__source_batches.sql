-- The load batches (landing files) behind each rep's figures of a day: orders, lines,
-- returns, surveys, activities and violations. int_rep_period__source_batches collects
-- them per period, so a year-to-date period reads a year of days, not a year of rows.
-- Incremental: a run rebuilds the days in int_scope__days.
-- depends_on: {{ ref('int_scope__days') }}
{{ config(
    materialized=scoped_materialization(),
    incremental_strategy='append',
    pre_hook="{{ delete_scope_days() }}",
) }}

with

dated as (

    select
        rep_id,
        order_date as date_day,
        order_batch_id as batch_id
    from {{ ref('int_order_lines__credited') }}
    where {{ in_scope_days('order_date') }}
    union
    select
        rep_id,
        order_date as date_day,
        line_batch_id as batch_id
    from {{ ref('int_order_lines__credited') }}
    where {{ in_scope_days('order_date') }}
    union
    select
        rep_id,
        return_date as date_day,
        batch_id
    from {{ ref('int_returns__credited') }}
    where {{ in_scope_days('return_date') }}
    union
    select
        rep_id,
        cast(submitted_at as date) as date_day,
        _batch_id as batch_id
    from {{ ref('int_survey_responses__validated') }}
    where {{ in_scope_days('cast(submitted_at as date)') }}
    union
    select
        rep_id,
        cast(activity_at as date) as date_day,
        _batch_id as batch_id
    from {{ ref('int_activities__validated') }}
    where {{ in_scope_days('cast(activity_at as date)') }}
    union
    select
        rep_id,
        cast(occurred_at as date) as date_day,
        _batch_id as batch_id
    from {{ ref('int_violations__validated') }}
    where {{ in_scope_days('cast(occurred_at as date)') }}

)

select
    rep_id,
    date_day,
    batch_id
from dated
where date_day is not null
