{#- PostgreSQL variants of dbt's date macros (dbt_project.yml `dispatch` searches spm
    before dbt). PostgreSQL intervals know no quarter: a quarter is three months. -#}

{% macro postgres__dateadd(datepart, interval, from_date_or_timestamp) -%}
    {%- if datepart | lower == 'quarter' -%}
        {{ from_date_or_timestamp }} + ((interval '3 month') * ({{ interval }}))
    {%- else -%}
        {{ from_date_or_timestamp }} + ((interval '1 {{ datepart }}') * ({{ interval }}))
    {%- endif -%}
{%- endmacro %}
