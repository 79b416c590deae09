-- Live products with the service, its provider and the support team they carry, and their
-- supplier and financial owner resolved against the organizations (with the top-level
-- organization of each).
with products as (
    select * from {{ ref('stg_xurrent__products') }}
),

organizations as (
    select * from {{ ref('int_xurrent__organization_lookup') }}
),

final as (
    select
        products.product_key,
        products.source_relation,
        products.account_id,
        products.product_id,
        products.name,
        products.category,
        products.brand,
        products.model,
        products.manufacturer_product_id,
        products.is_disabled,
        products.service_id,
        products.service_name,
        products.service_provider_id,
        products.service_provider_name,
        products.service_provider_account_id,
        products.support_team_id,
        products.support_team_name,
        products.supplier_id,
        coalesce(supplier.name, products.supplier_name) as supplier_name,
        supplier.organization_id is not null as is_supplier_known,
        supplier.top_organization_name as supplier_top_organization_name,
        products.financial_owner_id,
        coalesce(financial_owner.name, products.financial_owner_name) as financial_owner_name,
        financial_owner.organization_id is not null as is_financial_owner_known,
        financial_owner.top_organization_name as financial_owner_top_organization_name,
        products.rule_set,
        products.depreciation_method,
        products.useful_life,
        products.salvage_value,
        products.salvage_value_currency,
        products.created_at,
        products.updated_at
    from products
    left join organizations as supplier
        on supplier.organization_id = products.supplier_id
    left join organizations as financial_owner
        on financial_owner.organization_id = products.financial_owner_id
)

select * from final
