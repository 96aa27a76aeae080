{% test unique_combination(model, columns, scope=none) %}
    -- No two rows share the grain's key. `scope`: on an incremental run, only the keys of
    -- the rows the run rebuilt are counted, over the whole table ('periods', 'orders' or
    -- 'opportunities': macros/run_scope.sql, rebuilt_rows). The other rows were unique
    -- when the last successful build tested them, and a failed build makes the next one
    -- rebuild and test everything.
    {%- set key = columns | join(', ') %}
    {%- if scope == 'periods' %}
        -- depends_on: {{ ref('int_scope__periods') }}
    {%- elif scope == 'orders' %}
        -- depends_on: {{ ref('int_scope__orders') }}
    {%- elif scope == 'opportunities' %}
        -- depends_on: {{ ref('int_scope__opportunities') }}
    {%- endif %}
    select {{ key }}, count(*) as row_count
    from {{ model }} as tested
    {%- if scope is not none and scoped() %}
        where {{ key_tuple(columns, 'tested') }} in (
            select {{ key }}
            from {{ model }} as rebuilt
            where {{ rebuilt_rows(scope, 'rebuilt') }}
        )
    {%- elif scope is not none %}
        {#- an unknown scope fails also where the whole table is tested -#}
        {%- set _ = rebuilt_rows(scope, 'tested') %}
    {%- endif %}
    group by {{ key }}
    having count(*) > 1
{% endtest %}
