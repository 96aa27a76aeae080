{#- First day of the period of `grain` (week = ISO week, Monday start) holding `date_column`. -#}
{% macro period_start(grain, date_column) -%}
    cast({{ dbt.date_trunc(grain, date_column) }} as date)
{%- endmacro %}

{#- Last day of a period that starts on `start_column`. -#}
{% macro period_end(grain, start_column) -%}
    cast({{ dbt.dateadd('day', -1, dbt.dateadd(grain, 1, start_column)) }} as date)
{%- endmacro %}

{#- Last day of the period, when the grain is a column value rather than a constant. -#}
{% macro period_end_by_grain(grain_column, start_column) -%}
    case {{ grain_column }}
    {%- for grain in var('grains') %}
        when '{{ grain }}' then {{ period_end(grain, start_column) }}
    {%- endfor %}
    end
{%- endmacro %}

{#- Start of the period before, when the grain is a column value. -#}
{% macro previous_period_start(grain_column, start_column) -%}
    case {{ grain_column }}
    {%- for grain in var('grains') %}
        when '{{ grain }}' then cast({{ dbt.dateadd(grain, -1, start_column) }} as date)
    {%- endfor %}
    end
{%- endmacro %}

{#- Start of the next period, when the grain is a column value. -#}
{% macro next_period_start(grain_column, start_column) -%}
    case {{ grain_column }}
    {%- for grain in var('grains') %}
        when '{{ grain }}' then cast({{ dbt.dateadd(grain, 1, start_column) }} as date)
    {%- endfor %}
    end
{%- endmacro %}
