{#- Rows of a staging model that passed every row rule, latest version per key.
    A later version of a key (newer `order_by`, then later load) supersedes the earlier one;
    rejected rows are listed in int_quality__row_rejects and kept out here. -#}
{% macro latest_valid_rows(staging_model, entity, key_columns, order_by=none) -%}
with

staged as (

    select * from {{ ref(staging_model) }}

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

select * from ranked
where version_rank = 1
{%- endmacro %}


{#- One row per rejected input row for a rule: `fails` is a predicate on the raw text
    columns of the entity's source table. -#}
{% macro rule_rejects(source_name, table_name, entity, key_column, rule, value_column, fails) -%}
    select
        '{{ entity }}' as entity,
        _batch_id as batch_id,
        _source_file as source_file,
        _row_number as row_number,
        cast({{ key_column }} as {{ dbt.type_string() }}) as record_key,
        '{{ rule }}' as rule,
        cast({{ value_column }} as {{ dbt.type_string() }}) as value,
        _loaded_at as rejected_at
    from {{ source(source_name, table_name) }}
    where {{ fails }}
{%- endmacro %}


{#- Subquery of the ids present in a raw source table, for "unknown id" rules. -#}
{% macro known_ids(relation, column) -%}
    {{ return("(select trim(" ~ column ~ ") from " ~ relation ~ " where " ~ column ~ " is not null)") }}
{%- endmacro %}
