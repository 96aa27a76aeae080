-- The versions this run's validated models replace (one row per replaced row and day):
-- empty when the run starts, filled by the pre-hooks of the int_*__validated models
-- (macros/run_scope.sql, replace_changed_keys) before they drop a changed key's current
-- version, read by int_scope__orders and int_scope__days: where a row was, not only
-- where it is now, must be recomputed.
{{ config(materialized='table') }}

select
    cast(null as {{ dbt.type_string() }}) as entity,
    cast(null as {{ dbt.type_string() }}) as record_key,
    cast(null as {{ dbt.type_string() }}) as ref_id,
    cast(null as date) as date_day
where 1 = 0
