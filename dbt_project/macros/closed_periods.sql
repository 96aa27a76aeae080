{#- Closed periods: `spm close-period` records them in raw._closed_periods and freezes
    their rows in the published marts. The marts that finance and BI read for a closed
    period (kpi_rep_period, scorecard_rep_period, bonus_rep_period) are incremental: each
    run deletes and rebuilds only the rows of open periods, so closed rows never change. -#}

{#- `in_scope`: on an incremental run, only the open periods in int_scope__periods (the
    model then inserts only those); otherwise every open period. -#}
{% macro delete_open_period_rows(in_scope=false) -%}
    {{ return(adapter.dispatch('delete_open_period_rows', 'spm')(in_scope)) }}
{%- endmacro %}

{#- Spark has no DELETE on Parquet tables: spark__delete_open_period_rows in
    macros/cross_db_spark.sql drops the open periods' partitions instead. -#}
{% macro default__delete_open_period_rows(in_scope=false) -%}
    {%- if is_incremental() -%}
        delete from {{ this }} as frozen
        where not exists (
            select 1
            from {{ source('control', 'closed_periods') }} as closed
            where closed.period_grain = frozen.period_grain and closed.period_start = frozen.period_start
        )
        {%- if in_scope %}
            and {{ in_scope_periods('frozen') }}
        {%- endif %}
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}

{#- Keep only rows of periods that are not closed and not frozen in this table. -#}
{% macro is_open_period(alias) -%}
    not exists (
        select 1
        from {{ source('control', 'closed_periods') }} as closed
        where closed.period_grain = {{ alias }}.period_grain and closed.period_start = {{ alias }}.period_start
    )
{%- endmacro %}
