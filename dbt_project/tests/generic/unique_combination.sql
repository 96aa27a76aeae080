{% test unique_combination(model, columns) %}
    -- No two rows share the grain's key.
    select {{ columns | join(', ') }}, count(*) as row_count
    from {{ model }}
    group by {{ columns | join(', ') }}
    having count(*) > 1
{% endtest %}
