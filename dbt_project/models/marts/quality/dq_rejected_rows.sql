-- Every input row kept out of the facts, and every file rejected as a whole, with why.
-- Incremental: a run rebuilds the rows of the batches whose rejects changed since the
-- last successful build (reject_batches_since), not every reject ever kept.
{{ config(
    materialized=scoped_materialization(),
    incremental_strategy='append',
    on_schema_change='append_new_columns',
    pre_hook="{{ delete_scope_reject_batches() }}",
) }}

with

row_rejects as (

    select
        entity,
        source_file,
        row_number,
        record_key,
        rule,
        value,
        batch_id,
        rejected_at
    from {{ ref('int_quality__row_rejects') }}
    where {{ in_scope_reject_batches() }}

),

file_rejects as (

    select
        entity,
        source_file,
        cast(null as {{ dbt.type_bigint() }}) as row_number,
        cast(null as {{ dbt.type_string() }}) as record_key,
        'file_rejected' as rule,
        message as value,
        batch_id,
        loaded_at as rejected_at
    from {{ source('control', 'batches') }}
    where status = 'rejected' and {{ in_scope_reject_batches() }}

),

all_rejects as (

    select * from row_rejects
    union all
    select * from file_rejects

)

select
    entity,
    source_file,
    row_number,
    record_key,
    rule,
    value,
    batch_id,
    rejected_at
from all_rejects
