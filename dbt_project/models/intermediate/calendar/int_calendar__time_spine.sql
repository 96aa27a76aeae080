-- One row per day: the time spine the semantic layer (models/marts/performance/_semantic_models.yml)
-- joins metrics to. A view: nothing is stored.
{{ config(materialized='view') }}

with

days as (

    {{ dbt.date_spine('day', "cast('2015-01-01' as date)", "cast('2041-01-01' as date)") }}

)

select cast(date_day as date) as date_day
from days
