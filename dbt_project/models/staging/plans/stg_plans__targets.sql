with

source as (

    select
        rep_id,
        kpi_code,
        period_grain,
        period_start,
        target_value,
        {{ load_metadata() | indent(8) }}
    from {{ source('plans', 'targets') }}

),

renamed as (

    select
        trim(rep_id) as rep_id,
        lower(trim(kpi_code)) as kpi_code,
        lower(trim(period_grain)) as period_grain,
        {{ to_local_date('period_start') }} as period_start,
        {{ to_number('target_value') }} as target_value,
        {{ load_metadata() | indent(8) }}
    from source

)

select * from renamed
