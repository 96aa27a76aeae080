{% test not_null_columns(model, columns, scope=none) %}
    -- Each of `columns` that holds a null, with how many: one row per failing column. One
    -- test (one scan) per mart instead of one per column: a test is ~40 ms of dbt's own
    -- time per run, whatever it reads. `scope`: on an incremental run, only the rows the
    -- run rebuilt (macros/run_scope.sql, rebuild_scope); the others passed when the last
    -- successful build tested them.
    {%- if scope is not none %}
        -- depends_on: {{ ref(rebuild_scope(scope)[0]) }}
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
