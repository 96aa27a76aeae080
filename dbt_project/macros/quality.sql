{#- Rows of a staging model that passed every row rule, latest version per key.
    A later version of a key (newer `order_by`, then later load) supersedes the earlier one;
    rejected rows are listed in int_quality__row_rejects and kept out here (a row without
    its key is rejected there as missing_key, so the key filter below drops nothing silently).

    Incremental (macros/run_scope.sql): a run ranks, for each key whose content changed
    since the last successful build, its current version against the rows loaded since
    then (the current version already beat every older one), and appends the winner
    stamped with `_changed_at`; the post-hooks then keep where the versions it replaced
    were (int_scope__replaced) and delete them. A key with a row judged since then (a
    released or later reject) is ranked over all its versions instead.
    `ref_id`, `days`: what int_scope__replaced keeps of a replaced version (the row it
    hangs on, the days it counted on). -#}
{% macro latest_valid_rows(staging_model, entity, key_columns, order_by=none, ref_id=none, days=none) -%}
{%- set keys = "['" ~ key_columns | join("', '") ~ "']" -%}
{%- set replaced_args = "'" ~ staging_model ~ "', '" ~ entity ~ "', " ~ keys ~ ", "
    ~ ((ref_id | tojson) if ref_id else 'none') ~ ", " ~ ((days | tojson) if days else 'none') -%}
{{ config(
    materialized=scoped_materialization(),
    incremental_strategy='append',
    pre_hook="{{ delete_all_rows_unless_scoped() }}",
    post_hook=[
        "{{ record_replaced_keys(" ~ replaced_args ~ ") }}",
        "{{ delete_replaced_versions('" ~ staging_model ~ "', '" ~ entity ~ "', " ~ keys ~ ") }}",
    ],
) }}
{%- set replaced = ref('int_scope__replaced') -%}
{%- set scope = run_scope() -%}
{%- set candidate_key = key_tuple(key_columns, 'candidate') -%}
{%- set keys_of = 'select ' ~ key_columns | join(', ') ~ ' from ' -%}
with

{% if is_incremental() and scoped() -%}
{%- set since = scope_since() -%}
{%- set columns = adapter.get_columns_in_relation(ref(staging_model)) | map(attribute='name') | list
    if execute else [] -%}
new_versions as materialized (

    {{ new_version_keys(staging_model, key_columns, since) }}

),

judged as materialized (

    {{ judged_keys(staging_model, entity, key_columns, since) }}

),

staged as (

    -- rows loaded since the last build, of keys with a new version
    select {{ columns | join(', ') }}
    from {{ ref(staging_model) }} as candidate
    where
        candidate._loaded_at > {{ since }}
        and {{ candidate_key }} in ({{ keys_of }}new_versions)
    union all
    -- their current versions
    select
        {%- for column in columns %}
            candidate.{{ column }}{% if not loop.last %},{% endif %}
        {%- endfor %}
    from {{ this }} as candidate
    where {{ candidate_key }} in ({{ keys_of }}new_versions)
    union all
    -- every version of a key with a judged row
    select {{ columns | join(', ') }}
    from {{ ref(staging_model) }} as candidate
    where {{ candidate_key }} in ({{ keys_of }}judged)

),
{%- else %}
staged as (

    select * from {{ ref(staging_model) }}

),
{%- endif %}

rejected as (

    select batch_id, row_number
    from {{ ref('int_quality__row_rejects') }}
    where entity = '{{ entity }}'

),

ranked as (

    select
        staged.*,
        row_number() over (
            partition by {{ key_columns | join(', ') }}
            order by {% if order_by %}{{ order_by }} desc nulls last, {% endif %}_loaded_at desc, _batch_id desc, _row_number desc
        ) as version_rank
    -- an anti join on the (few) rejects, not a correlated `not exists`: the latter made
    -- DuckDB deduplicate every staged row first
    from staged
    left join rejected
        on staged._batch_id = rejected.batch_id and staged._row_number = rejected.row_number
    where rejected.batch_id is null
    {%- for key in key_columns %}
        and {{ key }} is not null
    {%- endfor %}

)

select
    ranked.*,
    {{ changed_at(scope) }} as _changed_at
from ranked
where version_rank = 1
{%- endmacro %}
