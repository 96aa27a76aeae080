{#- Median as an aggregate: DuckDB and Spark have median(); PostgreSQL needs an ordered-set aggregate. -#}
{% macro median(column) -%}
    {{ return(adapter.dispatch('median', 'spm')(column)) }}
{%- endmacro %}

{% macro default__median(column) -%}
    median({{ column }})
{%- endmacro %}

{% macro postgres__median(column) -%}
    percentile_cont(0.5) within group (order by {{ column }})
{%- endmacro %}
