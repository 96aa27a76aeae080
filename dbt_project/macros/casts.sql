{#- Casts used by staging. Raw rows are text; a value that does not parse becomes null
    and is caught by the row rules in int_quality__row_rejects. -#}

{% macro to_local_timestamp(column) -%}
    {{ return(adapter.dispatch('to_local_timestamp', 'spm')(column)) }}
{%- endmacro %}

{#- A timestamp with an offset is converted to the company time zone (the session
    time zone set in profiles.yml); one without an offset is already local. -#}
{% macro default__to_local_timestamp(column) -%}
    cast({{ dbt.safe_cast(column, 'timestamp with time zone') }} as {{ dbt.type_timestamp() }})
{%- endmacro %}

{% macro spark__to_local_timestamp(column) -%}
    to_timestamp({{ column }})
{%- endmacro %}

{% macro to_local_date(column) -%}
    cast({{ to_local_timestamp(column) }} as date)
{%- endmacro %}

{#- Parsed as decimal(18, 6), then widened to numeric(28, 6) for the arithmetic: DuckDB
    parses text into a 64-bit decimal ~50x faster than into a 128-bit one. A value of
    10^12 or more does not parse and its row is rejected (expectations/rules.py casts
    the same way). -#}
{% macro to_number(column) -%}
    cast({{ dbt.safe_cast(column, 'decimal(18, 6)') }} as {{ dbt.type_numeric() }})
{%- endmacro %}

{% macro to_integer(column) -%}
    {{ dbt.safe_cast(column, dbt.type_bigint()) }}
{%- endmacro %}

{% macro to_boolean(column) -%}
    {{ dbt.safe_cast('lower(trim(' ~ column ~ '))', dbt.type_boolean()) }}
{%- endmacro %}

{% macro load_metadata() -%}
    _batch_id,
    _source_file,
    _row_number,
    _loaded_at,
    _row_hash
{%- endmacro %}
