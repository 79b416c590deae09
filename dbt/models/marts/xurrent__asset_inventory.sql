-- The asset inventory: every live configuration item (CI) with its product and the product's
-- category, its status, site and owning organization (the CI's financial owner), its purchase
-- value and its book value today, and flags for a warranty or a supplier contract ending
-- within xurrent_expiry_warning_days (90) days.
--
-- Book value: the purchase value depreciated from in_use_since to today (t years of 365.25
-- days) by the product's depreciation method, down to the salvage value (NULL counts as 0, and
-- never above the purchase value) over useful_life years:
--   straight_line             cost - (cost - salvage) * min(t / life, 1)
--   sum_of_the_years_digits   cost - (cost - salvage) * the share of the digits used up: year
--                             k of `life` takes (life - k + 1) / (life (life + 1) / 2), spread
--                             evenly over the year; all of it after `life` years
--   double_declining_balance  max(cost * (1 - 2 / life) ^ t, salvage)
--   reducing_balance          max(cost * (1 - rate / 100) ^ t, salvage), the product's rate
--   not_depreciated           cost
-- Any other method (the legacy na_cost_is_zero, which Xurrent does not document, or none)
-- gives no book value; book_value_basis says why a CI has none.
--
-- A CI's contract: Xurrent links contracts to CIs through /contracts/:id/cis, which the
-- connector does not read. The package takes the CI's supplier contracts instead: live
-- contracts whose supplier is the CI's supplier and whose customer is the CI's financial
-- owner or nobody, that have not expired; the one ending first counts.
{%- set warning_days = var('xurrent_expiry_warning_days', 90) | int %}
{%- set today = dbt.cast(dbt.current_timestamp(), 'date') %}
{%- set methods = ['straight_line', 'sum_of_the_years_digits', 'double_declining_balance', 'reducing_balance'] %}

with cis as (
    select * from {{ ref('stg_xurrent__configuration_items') }}
),

products as (
    select
        *,
        row_number() over (
            partition by product_id order by _fivetran_synced desc nulls last, product_key
        ) as id_rank
    from {{ ref('stg_xurrent__products') }}
),

sites as (
    select
        site_id,
        name,
        row_number() over (
            partition by site_id order by _fivetran_synced desc nulls last, site_key
        ) as id_rank
    from {{ ref('stg_xurrent__sites') }}
),

organizations as (
    select * from {{ ref('int_xurrent__organization_lookup') }}
),

-- Contracts that have not expired yet, with the CI they may cover named by their parties.
open_contracts as (
    select
        contract_id,
        name,
        supplier_id,
        customer_id,
        expiry_date
    from {{ ref('stg_xurrent__contracts') }}
    where expiry_date >= {{ today }}
),

supplier_contracts as (
    select
        cis.configuration_item_key,
        open_contracts.contract_id,
        open_contracts.name,
        open_contracts.expiry_date,
        row_number() over (
            partition by cis.configuration_item_key
            order by open_contracts.expiry_date, open_contracts.contract_id
        ) as expiry_rank
    from cis
    inner join open_contracts
        on open_contracts.supplier_id = cis.supplier_id
        and (
            open_contracts.customer_id is null
            or open_contracts.customer_id = cis.financial_owner_id
        )
),

valued as (
    select
        cis.*,
        product.name as known_product_name,
        product.category as product_category,
        product.brand as product_brand,
        product.depreciation_method,
        product.useful_life as useful_life_years,
        product.rate as depreciation_rate_percent,
        product.salvage_value,
        product.salvage_value_currency,
        product.product_id is not null as is_product_known,
        {{ dbt.cast('cis.purchase_value', xurrent.type_double()) }} as cost,
        case
            when product.salvage_value is null then 0
            when {{ dbt.cast('product.salvage_value', xurrent.type_double()) }}
                > {{ dbt.cast('cis.purchase_value', xurrent.type_double()) }}
                then {{ dbt.cast('cis.purchase_value', xurrent.type_double()) }}
            else {{ dbt.cast('product.salvage_value', xurrent.type_double()) }}
        end as salvage,
        case
            when cis.in_use_since > {{ today }} then 0
            else {{ dbt.cast(dbt.datediff('cis.in_use_since', today, 'day'), xurrent.type_double()) }} / 365.25
        end as years_in_use,
        case
            when product.product_id is null then 'no_product'
            when cis.purchase_value is null then 'no_purchase_value'
            when product.depreciation_method = 'not_depreciated' then 'not_depreciated'
            when product.depreciation_method is null
                or product.depreciation_method not in ('{{ methods | join("', '") }}')
                then 'unknown_method'
            when cis.in_use_since is null then 'no_in_use_since'
            when product.depreciation_method = 'reducing_balance'
                and (product.rate is null or product.rate <= 0)
                then 'no_rate'
            when product.depreciation_method <> 'reducing_balance'
                and (product.useful_life is null or product.useful_life <= 0)
                then 'no_useful_life'
            else 'depreciated'
        end as book_value_basis
    from cis
    left join products as product
        on product.product_id = cis.product_id
        and product.id_rank = 1
),

depreciated as (
    select
        valued.*,
        case
            when book_value_basis = 'not_depreciated' then cost
            when book_value_basis <> 'depreciated' then null
            when depreciation_method = 'straight_line'
                then cost - (cost - salvage) * least(years_in_use / useful_life_years, 1.0)
            when depreciation_method = 'sum_of_the_years_digits' and years_in_use >= useful_life_years
                then salvage
            when depreciation_method = 'sum_of_the_years_digits'
                then cost - (cost - salvage) * (
                    floor(years_in_use) * (2 * useful_life_years - floor(years_in_use) + 1) / 2.0
                    + (years_in_use - floor(years_in_use)) * (useful_life_years - floor(years_in_use))
                ) / (useful_life_years * (useful_life_years + 1) / 2.0)
            when depreciation_method = 'double_declining_balance'
                then greatest(
                    cost * power(greatest(1.0 - 2.0 / useful_life_years, 0.0), years_in_use), salvage
                )
            when depreciation_method = 'reducing_balance'
                then greatest(
                    cost * power(greatest(1.0 - depreciation_rate_percent / 100.0, 0.0), years_in_use),
                    salvage
                )
        end as book_value_double
    from valued
),

final as (
    select
        depreciated.configuration_item_key,
        depreciated.source_relation,
        depreciated.account_id,
        depreciated.configuration_item_id,
        depreciated.label,
        depreciated.name,
        depreciated.status,
        depreciated.is_software,
        depreciated.rule_set,
        depreciated.product_id,
        coalesce(depreciated.known_product_name, depreciated.product_name) as product_name,
        depreciated.is_product_known,
        depreciated.product_category,
        depreciated.product_brand,
        depreciated.site_id,
        coalesce(site.name, depreciated.site_name) as site_name,
        depreciated.financial_owner_id as owner_organization_id,
        coalesce(owner.name, depreciated.financial_owner_name) as owner_organization_name,
        owner.top_organization_name as owner_top_organization_name,
        depreciated.supplier_id,
        coalesce(supplier.name, depreciated.supplier_name) as supplier_name,
        depreciated.support_team_id,
        depreciated.support_team_name,
        depreciated.in_use_since,
        depreciated.purchase_value,
        depreciated.purchase_value_currency,
        depreciated.depreciation_method,
        depreciated.useful_life_years,
        depreciated.depreciation_rate_percent,
        depreciated.salvage_value,
        depreciated.salvage_value_currency,
        case
            when depreciated.in_use_since is not null then depreciated.years_in_use
        end as years_in_use,
        round({{ dbt.cast('depreciated.book_value_double', xurrent.type_decimal()) }}, 2) as book_value,
        depreciated.book_value_basis,
        depreciated.warranty_expiry_date,
        {{ dbt.datediff(today, 'depreciated.warranty_expiry_date', 'day') }} as days_to_warranty_expiry,
        coalesce(
            {{ dbt.datediff(today, 'depreciated.warranty_expiry_date', 'day') }}
                between 0 and {{ warning_days }},
            false
        ) as is_warranty_expiring,
        contract.contract_id as supplier_contract_id,
        contract.name as supplier_contract_name,
        contract.expiry_date as supplier_contract_expiry_date,
        {{ dbt.datediff(today, 'contract.expiry_date', 'day') }} as days_to_contract_expiry,
        coalesce(
            {{ dbt.datediff(today, 'contract.expiry_date', 'day') }} <= {{ warning_days }},
            false
        ) as is_contract_expiring,
        depreciated.end_of_support_date,
        depreciated.license_expiry_date,
        depreciated.created_at,
        depreciated.updated_at
    from depreciated
    left join sites as site
        on site.site_id = depreciated.site_id
        and site.id_rank = 1
    left join organizations as owner
        on owner.organization_id = depreciated.financial_owner_id
    left join organizations as supplier
        on supplier.organization_id = depreciated.supplier_id
    left join supplier_contracts as contract
        on contract.configuration_item_key = depreciated.configuration_item_key
        and contract.expiry_rank = 1
)

select
    *,
    is_warranty_expiring or is_contract_expiring as is_expiring_soon
from final
