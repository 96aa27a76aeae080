-- Period sums of the daily rep measures at every grain.
{%- set metrics = rep_day_metrics() %}

select
    days.rep_id,
    periods.period_grain,
    periods.period_start,
    periods.period_end,
    {%- for metric in metrics %}
        sum(days.{{ metric }}) as {{ metric }}{% if not loop.last %},{% endif %}
    {%- endfor %}
from {{ ref('int_rep_day__metrics') }} as days
inner join {{ ref('int_calendar__date_periods') }} as periods on days.date_day = periods.date_day
group by days.rep_id, periods.period_grain, periods.period_start, periods.period_end
