{% test exactly_one_row(model) %}
    -- The plan in force is exactly one row.
    select count(*) as row_count
    from {{ model }}
    having count(*) <> 1
{% endtest %}
