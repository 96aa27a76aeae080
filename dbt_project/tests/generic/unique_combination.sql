{% test unique_combination(model, columns, scope=none) %}
    -- No two rows share the grain's key. `scope`: on an incremental run, only the keys of
    -- the rows the run rebuilt are counted, over the whole table ('periods': the key holds
    -- the period; 'orders': the keys of the scope's orders; 'opportunities': the keys of the
    -- scope's opportunities). The other rows were unique
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
    {%- if scope == 'periods' and scoped() %}
        where {{ key_tuple(['period_grain', 'period_start'], 'tested') }} in (
            select period_grain, period_start from {{ ref('int_scope__periods') }}
        )
    {%- elif scope == 'orders' and scoped() %}
        where {{ key_tuple(columns, 'tested') }} in (
            select {{ key }}
            from {{ model }}
            where order_id in (select order_id from {{ ref('int_scope__orders') }})
        )
    {%- elif scope == 'opportunities' and scoped() %}
        where {{ key_tuple(columns, 'tested') }} in (
            select {{ key }}
            from {{ model }}
            where opportunity_id in (select opportunity_id from {{ ref('int_scope__opportunities') }})
        )
    {%- elif scope is not none and scope not in ('periods', 'orders', 'opportunities') %}
        {{ exceptions.raise_compiler_error(
            "unique_combination: scope must be 'periods', 'orders' or 'opportunities', not " ~ scope
        ) }}
    {%- endif %}
    group by {{ key }}
    having count(*) > 1
{% endtest %}
