{% test not_null_columns(model, columns, scope=none) %}
    -- Each of `columns` that holds a null, with how many: one row per failing column. One
    -- test (one scan) per mart instead of one per column: a test is ~40 ms of dbt's own
    -- time per run, whatever it reads. `scope`: on an incremental run, only the rows the
    -- run rebuilt (macros/run_scope.sql, rebuilt_rows); the others passed when the last
    -- successful build tested them.
    {%- if scope == 'periods' %}
        -- depends_on: {{ ref('int_scope__periods') }}
    {%- elif scope == 'orders' %}
        -- depends_on: {{ ref('int_scope__orders') }}
    {%- elif scope == 'opportunities' %}
        -- depends_on: {{ ref('int_scope__opportunities') }}
    {%- endif %}
    with null_counts as (
        select
        {%- for column in columns %}
            sum(case when {{ column }} is null then 1 else 0 end) as nulls_{{ loop.index }}
            {%- if not loop.last %},{% endif %}
        {%- endfor %}
        from {{ model }} as tested
        {%- if scope is not none and scoped() %}
            where {{ rebuilt_rows(scope, 'tested') }}
        {%- elif scope is not none %}
            {#- an unknown scope fails also where the whole table is tested -#}
            {%- set _ = rebuilt_rows(scope, 'tested') %}
        {%- endif %}
    )
    {% for column in columns -%}
        select
            '{{ column }}' as column_name,
            nulls_{{ loop.index }} as null_rows
        from null_counts
        where nulls_{{ loop.index }} > 0
        {% if not loop.last %}union all{% endif %}
    {% endfor %}
{% endtest %}
