{#- Spark (dbt-spark, method session; docs/scaling.md). The models stay one SQL text:
    what differs on Spark is here, picked by adapter.dispatch. -#}

{#- Sources on Spark: orchestration/spark.py copies the DuckDB build file's raw, plan and
    control tables to Parquet folders, <SPM_SPARK_DIR>/source/<schema>.<table>; a source
    reads its folder directly (parquet.`<folder>`), so the copy needs no metastore and is
    exactly what Spark reads. Every other database gets dbt's own source(). -#}
{% macro source(source_name, table_name) -%}
    {%- set relation = builtins.source(source_name, table_name) -%}
    {%- if target.type == 'spark' -%}
        {%- set root = env_var('SPM_SPARK_DIR', '../data/warehouse/spark') ~ '/source' -%}
        {%- do return(api.Relation.create(
            schema='parquet',
            identifier=root ~ '/' ~ relation.schema ~ '.' ~ relation.identifier,
            quote_policy={'schema': false, 'identifier': true},
        )) -%}
    {%- endif -%}
    {%- do return(relation) -%}
{%- endmacro %}

{#- Contracts name DuckDB types; Spark has `string` where DuckDB has `varchar` (a Spark
    varchar needs a length). dbt renders a contract's types through cast(). -#}
{% macro spark__cast(field, type) -%}
    {%- set t = type | trim | lower -%}
    cast({{ field }} as {{ 'string' if t in ('varchar', 'text') else type }})
{%- endmacro %}

{#- dbt-spark asks SHOW GRANTS, which a local session lacks: grants are a PostgreSQL
    matter (macros/cross_db_grants.sql). -#}
{% macro spark__apply_grants(relation, grant_config, should_revoke=True) -%}
{%- endmacro %}

{#- Closed periods on Spark: a Parquet table takes no DELETE, so the three frozen marts
    are partitioned by (period_grain, period_start) on Spark (their yml config) and the
    pre-hook drops the partitions of open periods; the model then appends the open
    periods' rows. A closed period's partition is never touched. Spark runs rebuild every
    open period (macros/run_scope.sql: no scoped runs on Spark), so `in_scope` is moot. -#}
{% macro spark__delete_open_period_rows(in_scope=false) -%}
    {%- if execute and is_incremental() -%}
        {%- set open_periods = run_query(
            'select distinct period_grain, cast(period_start as string) from ' ~ this
            ~ ' as frozen where ' ~ is_open_period('frozen')
        ) -%}
        {%- if open_periods.rows | length > 0 -%}
            alter table {{ this }} drop if exists
            {%- for row in open_periods.rows %}
                partition (period_grain = '{{ row[0] }}', period_start = '{{ row[1] }}'){{ ',' if not loop.last }}
            {%- endfor %}
        {%- else -%}
            select 1
        {%- endif -%}
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}

{#- dbt-spark's listagg ignores the order; Spark 4 has the standard form. -#}
{% macro spark__listagg(measure, delimiter_text, order_by_clause, limit_num) -%}
    {%- if limit_num -%}
        {{ exceptions.raise_compiler_error("spark__listagg: limit_num is not supported") }}
    {%- endif -%}
    listagg({{ measure }}, {{ delimiter_text }})
    {%- if order_by_clause %} within group ({{ order_by_clause }}){% endif %}
{%- endmacro %}
