-- Every input row kept out of the facts, and every file rejected as a whole, with why.
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
    where status = 'rejected'

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
