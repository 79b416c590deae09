-- Live contracts, one row per (owning account, id), typed, from
-- every connection: every column of columns.sql, the id as contract_id.
with copies as (
    select *
    from {{ ref('stg_xurrent__contracts_tmp') }}
    where is_kept_copy
),

final as (
    select
        {{ xurrent.staged_fields('contracts', 'contract') }}
    from copies
    where {{ xurrent.is_live() }}
)

{{ xurrent.select_with_custom_fields('final', 'contract_key', 'contracts') }}
