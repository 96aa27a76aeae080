{#- A safe cast on PostgreSQL, which has no try_cast: a value that does not parse becomes
    null, as DuckDB's try_cast does, so the row rules (int_quality__row_rejects) see it.
    Plain numbers take an inline regex path; anything else goes through the
    exception-catching functions of macros/cross_db_functions.sql. -#}

{#- dbt's default safe_cast is a plain cast on DuckDB (dbt-duckdb has no variant): one bad
    value would fail the whole build. -#}
{% macro duckdb__safe_cast(field, type) -%}
    try_cast({{ field }} as {{ type }})
{%- endmacro %}

{% macro postgres__safe_cast(field, type) -%}
    {%- set t = type | lower | replace(' ', '') -%}
    {%- set fn = target.schema ~ '.spm_try_cast_' -%}
    {%- if t.startswith('numeric') or t.startswith('decimal') -%}
        (case
            when ({{ field }}) ~ '^\s*[+-]?[0-9]{1,15}(\.[0-9]*)?\s*$' then cast({{ field }} as {{ type }})
            else cast({{ fn }}numeric(cast({{ field }} as text)) as {{ type }})
        end)
    {%- elif t in ('bigint', 'int8', 'integer', 'int', 'int4') -%}
        (case
            when ({{ field }}) ~ '^\s*[+-]?[0-9]{1,9}\s*$' then cast({{ field }} as {{ type }})
            else cast({{ fn }}bigint(cast({{ field }} as text)) as {{ type }})
        end)
    {%- elif t in ('boolean', 'bool') -%}
        {{ fn }}boolean(cast({{ field }} as text))
    {%- elif t in ('timestampwithtimezone', 'timestamptz') -%}
        {{ fn }}timestamptz(cast({{ field }} as text))
    {%- elif t in ('timestamp', 'timestampwithouttimezone') -%}
        {{ fn }}timestamp(cast({{ field }} as text))
    {%- elif t == 'date' -%}
        {{ fn }}date(cast({{ field }} as text))
    {%- else -%}
        {{ exceptions.raise_compiler_error("postgres__safe_cast: no safe cast to " ~ type) }}
    {%- endif -%}
{%- endmacro %}
