select
    rep_id,
    period_start,
    cast(manager_score as decimal(9, 4)) as manager_score,
    cast(peer_score as decimal(9, 4)) as peer_score,
    cast(customer_score as decimal(9, 4)) as customer_score,
    cast(self_score as decimal(9, 4)) as self_score,
    cast(weighted_score as decimal(9, 4)) as weighted_score,
    cast(relations_present as integer) as relations_present
from {{ ref('int_reviews_360__rep_period') }}
