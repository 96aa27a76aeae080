with

source as (

    select
        rep_id,
        period_grain,
        period_start,
        base_bonus,
        currency,
        {{ load_metadata() | indent(8) }}
    from {{ source('plans', 'base_bonus') }}

),

renamed as (

    select
        trim(rep_id) as rep_id,
        lower(trim(period_grain)) as period_grain,
        {{ to_local_date('period_start') }} as period_start,
        {{ to_number('base_bonus') }} as base_bonus,
        upper(trim(currency)) as currency,
        {{ load_metadata() | indent(8) }}
    from source

)

select * from renamed
