-- Company scorecard: the mean of its scored reps' perspective and composite scores.
select
    period_grain,
    period_start,
    period_end,
    cast(avg(financial_score) as decimal(18, 4)) as financial_score,
    cast(avg(customer_score) as decimal(18, 4)) as customer_score,
    cast(avg(process_score) as decimal(18, 4)) as process_score,
    cast(avg(learning_score) as decimal(18, 4)) as learning_score,
    cast(avg(composite_score) as decimal(18, 4)) as composite_score,
    cast(count(*) as integer) as scored_reps,
    cast(sum(case when coaching_flag then 1 else 0 end) as integer) as coaching_reps
from {{ ref('scorecard_rep_period') }}
where composite_score is not null
group by period_grain, period_start, period_end
