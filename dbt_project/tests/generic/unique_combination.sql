{% test unique_combination(model, columns, scope=none) %}
    -- No two rows share the grain's key. `scope`: on an incremental run, only the keys of
    -- the rows the run rebuilt are counted, over the whole table ('periods', 'orders' or
    -- 'opportunities': macros/run_scope.sql, rebuild_scope). The other rows were unique
    -- when the last successful build tested them, and a failed build makes the next one
    -- rebuild and test everything.
    {%- set key = columns | join(', ') %}
    {%- if scope is not none %}
        -- depends_on: {{ ref(rebuild_scope(scope)[0]) }}
        {#- a key that holds the scope's columns has all its rows rebuilt or none: those
            rows are filtered directly, with no second scan of the table for their keys #}
        {%- set keyed_by_scope = rebuild_scope(scope)[1] | reject('in', columns) | list | length == 0 %}
    {%- endif %}
    select {{ key }}, count(*) as row_count
    from {{ model }} as tested
    {%- if scope is not none and scoped() and keyed_by_scope %}
        where {{ rebuilt_rows(scope, 'tested') }}
    {%- elif scope is not none and scoped() %}
        where {{ key_tuple(columns, 'tested') }} in (
            select {{ key }}
            from {{ model }} as rebuilt
            where {{ rebuilt_rows(scope, 'rebuilt') }}
        )
    {%- endif %}
    group by {{ key }}
    having count(*) > 1
{% endtest %}
