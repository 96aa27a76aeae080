{#- Capped attainment in percent (product.md): actual / target for higher-is-better,
    target / actual for lower-is-better where a zero actual earns the cap. Null when the
    KPI cannot be scored: no target, a non-positive target, or no actual. -#}
{% macro attainment_pct(actual, target, is_higher_better, cap) -%}
    {%- set actual = "(" ~ actual ~ ")" -%}
    {%- set target = "(" ~ target ~ ")" -%}
    case
        when {{ target }} is null or {{ target }} <= 0 or {{ actual }} is null then null
        when {{ is_higher_better }} then least({{ cap }}, greatest(0, {{ actual }} * 100.0 / {{ target }}))
        when {{ actual }} <= 0 then {{ cap }}
        else least({{ cap }}, {{ target }} * 100.0 / {{ actual }})
    end
{%- endmacro %}

{#- Join condition of a score to its bonus tier (lower bound inclusive, upper exclusive). -#}
{% macro in_tier(score, tiers) -%}
    {{ score }} >= {{ tiers }}.min_pct and ({{ tiers }}.max_pct is null or {{ score }} < {{ tiers }}.max_pct)
{%- endmacro %}
