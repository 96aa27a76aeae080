{#- Functions DuckDB has and PostgreSQL lacks, created by the on-run-start hook in the
    target schema so the models stay one SQL text. Nothing to do on other databases. -#}

{% macro cross_db_functions() -%}
    {{ return(adapter.dispatch('cross_db_functions', 'spm')()) }}
{%- endmacro %}

{% macro default__cross_db_functions() -%}
    select 1
{%- endmacro %}

{#- round(double precision, integer): DuckDB's round of a double to n places.
    spm_try_cast_<type>(text): the value cast, or null when it does not parse (try_cast);
    STABLE where the result depends on the session time zone. -#}
{% macro postgres__cross_db_functions() -%}
    {%- set s = target.schema -%}
    create or replace function {{ s }}.round(double precision, integer)
    returns double precision
    language sql immutable strict parallel safe
    as $$ select pg_catalog.round($1::numeric, $2)::double precision $$;
    {% for name, type, volatility in [
        ('numeric', 'numeric', 'immutable'),
        ('bigint', 'bigint', 'immutable'),
        ('boolean', 'boolean', 'immutable'),
        ('timestamptz', 'timestamp with time zone', 'stable'),
        ('timestamp', 'timestamp', 'stable'),
        ('date', 'date', 'stable'),
    ] %}
    create or replace function {{ s }}.spm_try_cast_{{ name }}(value text)
    returns {{ type }}
    language plpgsql {{ volatility }} strict parallel safe
    as $$
    begin
        return value::{{ type }};
    exception when others then
        return null;
    end
    $$;
    {% endfor %}
{%- endmacro %}
