-- 360 reviews per rep and review period: mean score per relation on 0-100
-- ((score - 1) / 4 x 100), weighted by the plan's relation weights over the relations present.
with

reviews as (

    select
        reviewee_rep_id as rep_id,
        period_start,
        reviewer_relation as relation,
        avg((score - 1) / 4.0 * 100) as relation_score
    from {{ ref('int_reviews_360__validated') }}
    group by reviewee_rep_id, period_start, reviewer_relation

),

weights as (

    select
        relation,
        weight_pct
    from {{ ref('stg_plan_rules__review_360_weights') }}

),

weighted as (

    select
        reviews.rep_id,
        reviews.period_start,
        max(case when reviews.relation = 'manager' then reviews.relation_score end) as manager_score,
        max(case when reviews.relation = 'peer' then reviews.relation_score end) as peer_score,
        max(case when reviews.relation = 'customer' then reviews.relation_score end) as customer_score,
        max(case when reviews.relation = 'self' then reviews.relation_score end) as self_score,
        sum(reviews.relation_score * weights.weight_pct) / nullif(sum(weights.weight_pct), 0) as weighted_score,
        count(*) as relations_present
    from reviews
    inner join weights on reviews.relation = weights.relation
    group by reviews.rep_id, reviews.period_start

)

select
    rep_id,
    period_start,
    manager_score,
    peer_score,
    customer_score,
    self_score,
    weighted_score,
    relations_present
from weighted
