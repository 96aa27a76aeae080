{#- Rows of a staging model that passed every row rule, latest version per key.
    A later version of a key (newer `order_by`, then later load) supersedes the earlier one;
    rejected rows are listed in int_quality__row_rejects and kept out here (a row without
    its key is rejected there as missing_key, so the key filter below drops nothing silently).
    Incremental (macros/run_scope.sql): a run re-ranks only the keys whose content changed
    since the last successful build, over every version of those keys, and stamps them
    with `_changed_at` for the models downstream. -#}
{% macro latest_valid_rows(staging_model, entity, key_columns, order_by=none, ref_id=none, days=none) -%}
{#- `ref_id`, `days`: what int_scope__replaced keeps of a replaced version (the row it
    hangs on, the days it counted on) -#}
{%- set keys = "['" ~ key_columns | join("', '") ~ "']" -%}
{%- set replaced_args = "'" ~ staging_model ~ "', '" ~ entity ~ "', " ~ keys ~ ", "
    ~ ((ref_id | tojson) if ref_id else 'none') ~ ", " ~ ((days | tojson) if days else 'none') -%}
{{ config(
    materialized=scoped_materialization(),
    incremental_strategy='append',
    pre_hook=[
        "{{ record_replaced_keys(" ~ replaced_args ~ ") }}",
        "{{ delete_changed_keys('" ~ staging_model ~ "', '" ~ entity ~ "', " ~ keys ~ ") }}",
    ],
) }}
{%- set replaced = ref('int_scope__replaced') -%}
{%- set scope = run_scope() -%}
with

staged as (

    select * from {{ ref(staging_model) }} as staged_rows
    {%- if is_incremental() and scoped() %}
        where exists (
            select 1
            from ({{ changed_keys(staging_model, entity, key_columns, scope) }}) as changed
            where
                {% for key in key_columns -%}
                    changed.{{ key }} = staged_rows.{{ key }}{% if not loop.last %} and {% endif %}
                {%- endfor %}
        )
    {%- endif %}

),

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
    from staged
    where not exists (
        select 1
        from rejected
        where rejected.batch_id = staged._batch_id and rejected.row_number = staged._row_number
    )
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
