with

source as (

    select
        review_id,
        reviewee_rep_id,
        reviewer_relation,
        period_start,
        score,
        {{ load_metadata() | indent(8) }}
    from {{ source('surveys', 'reviews_360') }}

),

renamed as (

    select
        trim(review_id) as review_id,
        trim(reviewee_rep_id) as reviewee_rep_id,
        lower(trim(reviewer_relation)) as reviewer_relation,
        {{ to_local_date('period_start') }} as period_start,
        {{ to_number('score') }} as score,
        {{ load_metadata() | indent(8) }}
    from source

)

select * from renamed
