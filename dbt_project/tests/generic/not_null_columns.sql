{% test not_null_columns(model, columns) %}
    -- Each of `columns` that holds a null, with how many: one row per failing column. One
    -- test (one scan) per mart instead of one per column: a test is ~40 ms of dbt's own
    -- time per run, whatever it reads.
    with null_counts as (
        select
        {%- for column in columns %}
            sum(case when {{ column }} is null then 1 else 0 end) as nulls_{{ loop.index }}
            {%- if not loop.last %},{% endif %}
        {%- endfor %}
        from {{ model }}
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
