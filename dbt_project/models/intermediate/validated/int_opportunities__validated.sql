{#- close_date counts only once the opportunity is closed (won or lost): before, it is a
    forecast no KPI reads, and changes every night across the pipeline's future. -#}
{{ latest_valid_rows(
    'stg_crm__opportunities', 'crm/opportunities', ['opportunity_id'], 'updated_at',
    days=['cast(created_at as date)', 'case when is_closed then close_date end'],
) }}
