-- Additive measures per credited rep and day; every KPI is built from their period sums.
-- Incremental: a run rebuilds the days in int_scope__days, for every rep.
-- depends_on: {{ ref('int_scope__days') }}
{{ config(
    materialized=scoped_materialization(),
    incremental_strategy='append',
    pre_hook="{{ delete_scope_days() }}",
) }}
{%- set parts = rep_day_metric_parts() -%}
{%- set metrics = rep_day_metrics() %}

with

new_markets as (

    select accounts.account_id
    from {{ ref('int_accounts__validated') }} as accounts
    inner join {{ ref('int_markets__validated') }} as markets on accounts.market_id = markets.market_id
    where markets.is_new_market

),

completed_lines as (

    select
        order_id,
        order_date,
        account_id,
        rep_id,
        net_amount_base,
        cost_base
    from {{ ref('int_order_lines__credited') }}
    where order_status = 'completed' and {{ in_scope_days('order_date') }}

),

order_lines as (

    select
        completed_lines.rep_id,
        completed_lines.order_date as date_day,
        sum(completed_lines.net_amount_base) as line_revenue,
        sum(completed_lines.cost_base) as line_cost,
        sum(case when new_markets.account_id is not null then completed_lines.net_amount_base else 0 end)
            as new_market_line_revenue
    from completed_lines
    left join new_markets on completed_lines.account_id = new_markets.account_id
    group by completed_lines.rep_id, completed_lines.order_date

),

orders as (

    select
        rep_id,
        order_date as date_day,
        count(distinct order_id) as completed_orders
    from completed_lines
    group by rep_id, order_date

),

returns as (

    select
        credited_returns.rep_id,
        credited_returns.return_date as date_day,
        sum(credited_returns.amount_base) as return_amount,
        sum(credited_returns.cost_base) as return_cost,
        sum(case when new_markets.account_id is not null then credited_returns.amount_base else 0 end)
            as new_market_return_amount
    from {{ ref('int_returns__credited') }} as credited_returns
    left join new_markets on credited_returns.account_id = new_markets.account_id
    where {{ in_scope_days('credited_returns.return_date') }}
    group by credited_returns.rep_id, credited_returns.return_date

),

responses as (

    select
        rep_id,
        cast(submitted_at as date) as date_day,
        sum(case when survey_type = 'csat' then 1 else 0 end) as csat_responses,
        sum(case when survey_type = 'csat' and score >= 4 then 1 else 0 end) as csat_positive,
        sum(case when survey_type = 'nps' then 1 else 0 end) as nps_responses,
        sum(case when survey_type = 'nps' and score >= 9 then 1 else 0 end) as nps_promoters,
        sum(case when survey_type = 'nps' and score <= 6 then 1 else 0 end) as nps_detractors
    from {{ ref('int_survey_responses__validated') }}
    where {{ in_scope_days('cast(submitted_at as date)') }}
    group by rep_id, cast(submitted_at as date)

),

complaints as (

    select
        rep_id,
        cast(opened_at as date) as date_day,
        count(*) as complaints
    from {{ ref('int_complaints__validated') }}
    where opened_at is not null and {{ in_scope_days('cast(opened_at as date)') }}
    group by rep_id, cast(opened_at as date)

),

activities as (

    select
        rep_id,
        cast(activity_at as date) as date_day,
        sum(case when activity_type = 'visit' then 1 else 0 end) as visits,
        sum(case when activity_type = 'market_feedback' then 1 else 0 end) as market_feedback,
        sum(case when activity_type = 'event' then coalesce(participants, 0) else 0 end) as event_participants,
        sum(case when activity_type = 'campaign' then coalesce(impressions, 0) else 0 end) as brand_exposure
    from {{ ref('int_activities__validated') }}
    where {{ in_scope_days('cast(activity_at as date)') }}
    group by rep_id, cast(activity_at as date)

),

leads as (

    select
        owner_rep_id as rep_id,
        cast(created_at as date) as date_day,
        count(*) as leads_created
    from {{ ref('int_leads__validated') }}
    where {{ in_scope_days('cast(created_at as date)') }}
    group by owner_rep_id, cast(created_at as date)

),

opportunities_created as (

    select
        owner_rep_id as rep_id,
        cast(created_at as date) as date_day,
        count(*) as opportunities_created
    from {{ ref('int_opportunities__validated') }}
    where created_at is not null and {{ in_scope_days('cast(created_at as date)') }}
    group by owner_rep_id, cast(created_at as date)

),

opportunities_closed as (

    select
        owner_rep_id as rep_id,
        close_date as date_day,
        sum(case when is_won then 1 else 0 end) as opportunities_won,
        sum(case when not is_won then 1 else 0 end) as opportunities_lost
    from {{ ref('int_opportunities__validated') }}
    where is_closed and close_date is not null and {{ in_scope_days('close_date') }}
    group by owner_rep_id, close_date

),

training as (

    select
        rep_id,
        cast(completed_at as date) as date_day,
        sum(hours) as training_hours
    from {{ ref('int_training__validated') }}
    where completed_at is not null and {{ in_scope_days('cast(completed_at as date)') }}
    group by rep_id, cast(completed_at as date)

),

all_parts as (
    {% for part, columns in parts.items() %}
        select
            rep_id,
            date_day,
            {%- for metric in metrics %}
                {% if metric in columns %}{{ metric }}{% else %}0{% endif %} as {{ metric }}{% if not loop.last %}
                    ,
                {% endif %}
            {%- endfor %}
        from {{ part }}
        {% if not loop.last %}union all{% endif %}
    {%- endfor %}
)

select
    rep_id,
    date_day,
    {%- for metric in metrics %}
        cast(sum({{ metric }}) as {{ rep_metric_type(metric) }}) as {{ metric }}{% if not loop.last %},{% endif %}
    {%- endfor %}
from all_parts
where rep_id is not null and date_day is not null
group by rep_id, date_day
