-- Every date that carries an event or a plan row, mapped to its period at each grain.
{%- set event_dates = [
    ('int_order_lines__credited', 'order_date'),
    ('int_returns__credited', 'return_date'),
    ('int_activities__validated', 'cast(activity_at as date)'),
    ('int_leads__validated', 'cast(created_at as date)'),
    ('int_opportunities__validated', 'cast(created_at as date)'),
    ('int_opportunities__validated', 'close_date'),
    ('int_survey_responses__validated', 'cast(submitted_at as date)'),
    ('int_complaints__validated', 'cast(opened_at as date)'),
    ('int_reviews_360__validated', 'period_start'),
    ('int_violations__validated', 'cast(occurred_at as date)'),
    ('int_training__validated', 'cast(completed_at as date)'),
    ('int_targets__validated', 'period_start'),
    ('int_base_bonus__validated', 'period_start'),
] %}

with

dates as (
    {% for model, expression in event_dates %}
        select distinct {{ expression }} as date_day from {{ ref(model) }}
        {% if not loop.last %}union{% endif %}
    {%- endfor %}
),

periods as (
    {% for grain in var('grains') %}
        select
            date_day,
            '{{ grain }}' as period_grain,
            {{ period_start(grain, 'date_day') }} as period_start
        from dates
        where date_day is not null
        {% if not loop.last %}union all{% endif %}
    {%- endfor %}
)

select
    date_day,
    period_grain,
    period_start,
    {{ period_end_by_grain('period_grain', 'period_start') }} as period_end
from periods
