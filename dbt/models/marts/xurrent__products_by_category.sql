-- Live products counted by category, service (with its provider) and support team: how the
-- catalog is spread and who supports it. A missing category, service or team is a group of
-- its own (NULL).
with products as (
    select * from {{ ref('xurrent__products') }}
),

grouped as (
    select
        source_relation,
        category,
        service_id,
        service_name,
        service_provider_id,
        service_provider_name,
        support_team_id,
        support_team_name,
        count(*) as product_count,
        sum(case when is_disabled then 1 else 0 end) as disabled_product_count,
        count(distinct brand) as brand_count,
        min(created_at) as first_created_at,
        max(updated_at) as last_updated_at
    from products
    group by
        source_relation,
        category,
        service_id,
        service_name,
        service_provider_id,
        service_provider_name,
        support_team_id,
        support_team_name
),

final as (
    select
        grouped.*,
        sum(product_count) over (partition by source_relation, category) as category_product_count,
        {{ dbt.cast('product_count', xurrent.type_double()) }}
            / sum(product_count) over (partition by source_relation, category) as share_of_category
    from grouped
)

select * from final
