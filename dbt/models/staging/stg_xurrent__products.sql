-- Live products, one row per (owning account, id), typed, from every connection.
with copies as (
    select *
    from {{ ref('stg_xurrent__products_tmp') }}
    where is_kept_copy
),

final as (
    select
        {{ xurrent.record_key('owning_account_id', 'source_relation', 'id') }} as product_key,
        source_relation,
        owning_account_id as account_id,
        id as product_id,
        node_id,
        source_id,
        source,
        name,
        category,
        brand,
        model,
        -- Xurrent's productID field, renamed so that product_id can be the record's id as
        -- in the other staging models.
        product_id as manufacturer_product_id,
        service_id,
        service_name,
        service_provider_id,
        service_provider_name,
        service_provider_account_id,
        support_team_id,
        support_team_name,
        supplier_id,
        supplier_name,
        supplier_account_id,
        financial_owner_id,
        financial_owner_name,
        financial_owner_account_id,
        rule_set,
        depreciation_method,
        rate,
        useful_life,
        salvage_value,
        salvage_value_currency,
        disabled as is_disabled,
        recurrence,
        workflow_template_id,
        workflow_template_name,
        workflow_manager_id,
        workflow_manager_name,
        workflow_manager_account_id,
        picture_uri,
        remarks,
        custom_fields,
        ui_extension_id,
        ui_extension_name,
        attachments,
        created_at,
        updated_at,
        _fivetran_synced
    from copies
    where {{ xurrent.is_live() }}
)

{{ xurrent.select_with_custom_fields('final', 'product_key', 'products') }}
