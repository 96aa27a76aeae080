{#- Read access for BI and finance on PostgreSQL. Per-table SELECT comes from the `grants`
    config of the marts folders (dbt_project.yml): bi_reader reads core, performance and
    quality marts, finance_reader those and the finance marts. This on-run-end hook adds
    what a table grant cannot: USAGE on the marts schema only (raw, plan, staging and
    intermediate stay closed), and default privileges so a mart added later is readable by
    finance_reader at once. DuckDB has no roles: readers get a read-only file instead. -#}

{% macro grant_reader_access() -%}
    {{ return(adapter.dispatch('grant_reader_access', 'spm')()) }}
{%- endmacro %}

{% macro default__grant_reader_access() -%}
    select 1
{%- endmacro %}

{% macro postgres__grant_reader_access() -%}
    create schema if not exists marts;
    grant usage on schema marts to bi_reader, finance_reader;
    alter default privileges in schema marts grant select on tables to finance_reader;
    revoke all on schema marts from public
{%- endmacro %}

{#- dbt-duckdb warns on every `grants` config; on DuckDB they mean nothing, silently. -#}
{% macro duckdb__apply_grants(relation, grant_config, should_revoke=True) -%}
{%- endmacro %}
