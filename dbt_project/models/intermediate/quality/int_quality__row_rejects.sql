{#- Input rows kept out of the facts: the rejects still in force. The rules live in one
    place, the registry expectations/rules.py; they are evaluated on each new batch when
    it is loaded and appended to raw._rejected_rows. A reject is released when it no
    longer holds (a late parent row, FX rate or KPI), see raw._reject_resolutions.
    A view: dq_rejected_rows copies it whole and int_reps__versions reads one entity's;
    as a table, every reject ever kept was copied one more time each night. -#}
{{ config(materialized='view') }}

with

rejects as (

    select
        entity,
        batch_id,
        source_file,
        row_number,
        record_key,
        rule,
        value,
        rejected_at
    from {{ source('quality', 'rejected_rows') }}

),

resolutions as (

    select
        entity,
        batch_id,
        row_number,
        rule
    from {{ source('quality', 'reject_resolutions') }}

)

select
    rejects.entity,
    rejects.batch_id,
    rejects.source_file,
    rejects.row_number,
    rejects.record_key,
    rejects.rule,
    rejects.value,
    rejects.rejected_at
from rejects
where not exists (
    select 1
    from resolutions
    where
        resolutions.entity = rejects.entity
        and resolutions.batch_id = rejects.batch_id
        and resolutions.row_number = rejects.row_number
        and resolutions.rule = rejects.rule
)
