-- Live organizations, one row per (owning account, id), typed, from every connection.
with copies as (
    select *
    from {{ ref('stg_xurrent__organizations_tmp') }}
    where is_kept_copy
),

final as (
    select
        {{ xurrent.record_key('owning_account_id', 'source_relation', 'id') }} as organization_key,
        source_relation,
        owning_account_id as account_id,
        id as organization_id,
        node_id,
        source_id,
        source,
        name,
        parent_id,
        parent_name,
        parent_account_id,
        manager_id,
        manager_name,
        manager_account_id,
        substitute_id,
        substitute_name,
        substitute_account_id,
        business_unit as is_business_unit,
        business_unit_organization_id,
        business_unit_organization_name,
        business_unit_organization_account_id,
        region,
        financial_id,
        disabled as is_disabled,
        end_user_privacy as has_end_user_privacy,
        order_template_id,
        order_template_name,
        picture_uri,
        remarks,
        custom_fields,
        addresses,
        contacts,
        attachments,
        ui_extension_id,
        ui_extension_name,
        created_at,
        updated_at,
        _fivetran_synced
    from copies
    where {{ xurrent.is_live() }}
)

{{ xurrent.select_with_custom_fields('final', 'organization_key', 'organizations') }}
