with

source as (

    select
        opportunity_id,
        account_id,
        owner_rep_id,
        stage,
        amount,
        currency,
        created_at,
        close_date,
        is_closed,
        is_won,
        updated_at,
        {{ load_metadata() | indent(8) }}
    from {{ source('crm', 'opportunities') }}

),

renamed as (

    select
        trim(opportunity_id) as opportunity_id,
        trim(account_id) as account_id,
        trim(owner_rep_id) as owner_rep_id,
        lower(trim(stage)) as stage,
        {{ to_number('amount') }} as amount,
        upper(trim(currency)) as currency,
        {{ to_local_timestamp('created_at') }} as created_at,
        {{ to_local_date('close_date') }} as close_date,
        {{ to_boolean('is_closed') }} as is_closed,
        {{ to_boolean('is_won') }} as is_won,
        {{ to_local_timestamp('updated_at') }} as updated_at,
        {{ load_metadata() | indent(8) }}
    from source

)

select * from renamed
