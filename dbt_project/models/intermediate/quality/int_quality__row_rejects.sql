{#- Every row rule of the landing contract, in one place. A failing row is kept out of the
    facts and listed here with its file, row number, rule and offending value. -#}
{%- set reps = known_ids(source('crm', 'reps'), 'rep_id') -%}
{%- set accounts = known_ids(source('crm', 'accounts'), 'account_id') -%}
{%- set orders = known_ids(source('orders', 'orders'), 'order_id') -%}
{%- set products = known_ids(source('orders', 'products'), 'product_id') -%}
{%- set lines = known_ids(source('orders', 'order_lines'), 'order_line_id') -%}
{%- set kpis = "(select kpi_code from " ~ ref('stg_plan_rules__kpis') ~ ")" -%}
{%- set fx = "(select upper(trim(currency)) as currency, " ~ to_local_date('rate_date')
    ~ " as rate_date from " ~ source('orders', 'fx_rates') ~ ")" -%}
{%- set base_currency = "(select upper(base_currency) from " ~ ref('stg_plan_rules__plan_info') ~ ")" -%}

{%- set rules = [
    ('crm', 'reps', 'crm/reps', 'rep_id', 'accepted_values:role', 'role',
        "lower(trim(role)) not in ('sales', 'marketing', 'manager') or role is null"),
    ('crm', 'leads', 'crm/leads', 'lead_id', 'unknown_rep', 'owner_rep_id', "trim(owner_rep_id) not in " ~ reps ~ " or owner_rep_id is null"),
    ('crm', 'leads', 'crm/leads', 'lead_id', 'invalid_timestamp:created_at', 'created_at', to_local_timestamp('created_at') ~ " is null"),
    ('crm', 'opportunities', 'crm/opportunities', 'opportunity_id', 'unknown_rep', 'owner_rep_id', "trim(owner_rep_id) not in " ~ reps ~ " or owner_rep_id is null"),
    ('crm', 'opportunities', 'crm/opportunities', 'opportunity_id', 'negative_amount', 'amount', to_number('amount') ~ " < 0"),
    ('crm', 'activities', 'crm/activities', 'activity_id', 'unknown_rep', 'rep_id', "trim(rep_id) not in " ~ reps ~ " or rep_id is null"),
    ('crm', 'activities', 'crm/activities', 'activity_id', 'accepted_values:activity_type', 'activity_type',
        "lower(trim(activity_type)) not in ('visit', 'call', 'meeting', 'market_feedback', 'event', 'campaign') or activity_type is null"),
    ('crm', 'activities', 'crm/activities', 'activity_id', 'invalid_timestamp:activity_at', 'activity_at', to_local_timestamp('activity_at') ~ " is null"),
    ('orders', 'orders', 'orders/orders', 'order_id', 'unknown_rep', 'rep_id', "trim(rep_id) not in " ~ reps ~ " or rep_id is null"),
    ('orders', 'orders', 'orders/orders', 'order_id', 'unknown_account', 'account_id', "trim(account_id) not in " ~ accounts ~ " or account_id is null"),
    ('orders', 'orders', 'orders/orders', 'order_id', 'accepted_values:status', 'status',
        "lower(trim(status)) not in ('completed', 'cancelled') or status is null"),
    ('orders', 'orders', 'orders/orders', 'order_id', 'invalid_date:order_date', 'order_date', to_local_date('order_date') ~ " is null"),
    ('orders', 'orders', 'orders/orders', 'order_id', 'missing_fx_rate', "coalesce(currency, '') || ' ' || coalesce(order_date, '')",
        "upper(trim(coalesce(currency, ''))) not in " ~ base_currency ~ " and not exists (select 1 from " ~ fx ~ " as fx where fx.currency = upper(trim(" ~ source('orders', 'orders') ~ ".currency)) and fx.rate_date = " ~ to_local_date('order_date') ~ ")"),
    ('orders', 'order_lines', 'orders/order_lines', 'order_line_id', 'unknown_order', 'order_id', "trim(order_id) not in " ~ orders ~ " or order_id is null"),
    ('orders', 'order_lines', 'orders/order_lines', 'order_line_id', 'unknown_product', 'product_id', "trim(product_id) not in " ~ products ~ " or product_id is null"),
    ('orders', 'order_lines', 'orders/order_lines', 'order_line_id', 'quantity_not_positive', 'quantity', "coalesce(" ~ to_number('quantity') ~ ", 0) <= 0"),
    ('orders', 'order_lines', 'orders/order_lines', 'order_line_id', 'negative_or_missing_price', 'unit_price', "coalesce(" ~ to_number('unit_price') ~ ", -1) < 0"),
    ('orders', 'order_lines', 'orders/order_lines', 'order_line_id', 'negative_cost', 'unit_cost', to_number('unit_cost') ~ " < 0"),
    ('orders', 'order_lines', 'orders/order_lines', 'order_line_id', 'discount_out_of_range', 'discount', to_number('discount') ~ " < 0 or " ~ to_number('discount') ~ " > 1"),
    ('orders', 'returns', 'orders/returns', 'return_id', 'unknown_order_line', 'order_line_id', "trim(order_line_id) not in " ~ lines ~ " or order_line_id is null"),
    ('orders', 'returns', 'orders/returns', 'return_id', 'quantity_not_positive', 'quantity', "coalesce(" ~ to_number('quantity') ~ ", 0) <= 0"),
    ('orders', 'returns', 'orders/returns', 'return_id', 'negative_or_missing_amount', 'amount', "coalesce(" ~ to_number('amount') ~ ", -1) < 0"),
    ('orders', 'returns', 'orders/returns', 'return_id', 'invalid_date:return_date', 'return_date', to_local_date('return_date') ~ " is null"),
    ('orders', 'fx_rates', 'orders/fx_rates', 'currency', 'rate_not_positive', 'rate_to_base', "coalesce(" ~ to_number('rate_to_base') ~ ", 0) <= 0"),
    ('surveys', 'responses', 'surveys/responses', 'response_id', 'unknown_rep', 'rep_id', "trim(rep_id) not in " ~ reps ~ " or rep_id is null"),
    ('surveys', 'responses', 'surveys/responses', 'response_id', 'accepted_values:survey_type', 'survey_type', "lower(trim(survey_type)) not in ('csat', 'nps') or survey_type is null"),
    ('surveys', 'responses', 'surveys/responses', 'response_id', 'score_out_of_range', 'score',
        "(lower(trim(survey_type)) = 'csat' and not coalesce(" ~ to_number('score') ~ " between 1 and 5, false)) or (lower(trim(survey_type)) = 'nps' and not coalesce(" ~ to_number('score') ~ " between 0 and 10, false))"),
    ('surveys', 'responses', 'surveys/responses', 'response_id', 'invalid_timestamp:submitted_at', 'submitted_at', to_local_timestamp('submitted_at') ~ " is null"),
    ('surveys', 'complaints', 'surveys/complaints', 'complaint_id', 'unknown_rep', 'rep_id', "trim(rep_id) not in " ~ reps ~ " or rep_id is null"),
    ('surveys', 'reviews_360', 'surveys/reviews_360', 'review_id', 'unknown_rep', 'reviewee_rep_id', "trim(reviewee_rep_id) not in " ~ reps ~ " or reviewee_rep_id is null"),
    ('surveys', 'reviews_360', 'surveys/reviews_360', 'review_id', 'accepted_values:reviewer_relation', 'reviewer_relation',
        "lower(trim(reviewer_relation)) not in ('manager', 'peer', 'customer', 'self') or reviewer_relation is null"),
    ('surveys', 'reviews_360', 'surveys/reviews_360', 'review_id', 'score_out_of_range', 'score', "not coalesce(" ~ to_number('score') ~ " between 1 and 5, false)"),
    ('hr', 'violations', 'hr/violations', 'violation_id', 'unknown_rep', 'rep_id', "trim(rep_id) not in " ~ reps ~ " or rep_id is null"),
    ('hr', 'violations', 'hr/violations', 'violation_id', 'accepted_values:severity', 'severity', "lower(trim(severity)) not in ('minor', 'red_line') or severity is null"),
    ('hr', 'violations', 'hr/violations', 'violation_id', 'negative_penalty', 'penalty_amount', to_number('penalty_amount') ~ " < 0"),
    ('hr', 'training', 'hr/training', 'training_id', 'unknown_rep', 'rep_id', "trim(rep_id) not in " ~ reps ~ " or rep_id is null"),
    ('hr', 'training', 'hr/training', 'training_id', 'hours_not_positive', 'hours', "coalesce(" ~ to_number('hours') ~ ", 0) <= 0"),
    ('plans', 'targets', 'plans/targets', 'rep_id', 'unknown_rep', 'rep_id', "trim(rep_id) not in " ~ reps ~ " or rep_id is null"),
    ('plans', 'targets', 'plans/targets', 'rep_id', 'unknown_kpi_code', 'kpi_code', "lower(trim(kpi_code)) not in " ~ kpis ~ " or kpi_code is null"),
    ('plans', 'targets', 'plans/targets', 'rep_id', 'accepted_values:period_grain', 'period_grain', "lower(trim(period_grain)) not in ('week', 'month', 'quarter', 'year') or period_grain is null"),
    ('plans', 'targets', 'plans/targets', 'rep_id', 'missing_target_value', 'target_value', to_number('target_value') ~ " is null"),
    ('plans', 'base_bonus', 'plans/base_bonus', 'rep_id', 'unknown_rep', 'rep_id', "trim(rep_id) not in " ~ reps ~ " or rep_id is null"),
    ('plans', 'base_bonus', 'plans/base_bonus', 'rep_id', 'negative_or_missing_base_bonus', 'base_bonus', "coalesce(" ~ to_number('base_bonus') ~ ", -1) < 0"),
] -%}

{#- An exact copy of a row loaded before (same entity, every contract column equal, see
    _row_hash) is dropped once and listed. -#}
{%- set entities = [
    ('crm', 'reps', 'rep_id'), ('crm', 'teams', 'team_id'), ('crm', 'accounts', 'account_id'),
    ('crm', 'markets', 'market_id'), ('crm', 'contacts', 'contact_id'), ('crm', 'leads', 'lead_id'),
    ('crm', 'opportunities', 'opportunity_id'), ('crm', 'activities', 'activity_id'),
    ('orders', 'orders', 'order_id'), ('orders', 'order_lines', 'order_line_id'),
    ('orders', 'returns', 'return_id'), ('orders', 'products', 'product_id'),
    ('orders', 'fx_rates', 'currency'), ('surveys', 'responses', 'response_id'),
    ('surveys', 'complaints', 'complaint_id'), ('surveys', 'reviews_360', 'review_id'),
    ('hr', 'violations', 'violation_id'), ('hr', 'training', 'training_id'),
    ('plans', 'targets', 'rep_id'), ('plans', 'base_bonus', 'rep_id'),
] -%}

with

rule_failures as (
    {% for source_name, table_name, entity, key, rule, value, fails in rules %}
        {{ rule_rejects(source_name, table_name, entity, key, rule, value, fails) }}
        {% if not loop.last %}union all{% endif %}
    {%- endfor %}
),

exact_duplicates as (
    {% for source_name, table_name, key in entities %}
        select
            '{{ source_name }}/{{ table_name }}' as entity,
            _batch_id as batch_id,
            _source_file as source_file,
            _row_number as row_number,
            cast({{ key }} as {{ dbt.type_string() }}) as record_key,
            'exact_duplicate' as rule,
            cast({{ key }} as {{ dbt.type_string() }}) as value,
            _loaded_at as rejected_at
        from (
            select
                {{ key }},
                _batch_id,
                _source_file,
                _row_number,
                _loaded_at,
                row_number() over (
                    partition by _row_hash order by _loaded_at, _batch_id, _row_number
                ) as copy_number
            from {{ source(source_name, table_name) }}
        ) as copies
        where copy_number > 1
        {% if not loop.last %}union all{% endif %}
    {%- endfor %}
),

all_rejects as (
    select * from rule_failures
    union all
    select * from exact_duplicates
)

select
    entity,
    batch_id,
    source_file,
    row_number,
    record_key,
    rule,
    value,
    rejected_at
from all_rejects
