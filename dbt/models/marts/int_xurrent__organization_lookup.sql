-- One hierarchy row per organization id, for resolving references (a project's customer, a
-- product's supplier), which carry an id but no account. Xurrent ids are unique within one
-- Xurrent environment, so this normally drops nothing; should two accounts ever report the
-- same id, the most recently synced copy wins (and the unique test on
-- stg_xurrent__organizations.organization_id warns).
with ranked as (
    select
        hierarchy.*,
        row_number() over (
            partition by hierarchy.organization_id
            order by organizations._fivetran_synced desc nulls last, hierarchy.organization_key
        ) as id_rank
    from {{ ref('xurrent__organization_hierarchy') }} as hierarchy
    inner join {{ ref('stg_xurrent__organizations') }} as organizations
        on organizations.organization_key = hierarchy.organization_key
),

final as (
    select
        organization_id,
        organization_key,
        source_relation,
        account_id,
        name,
        depth,
        top_organization_id,
        top_organization_name,
        name_path,
        is_disabled
    from ranked
    where id_rank = 1
        and organization_id is not null
)

select * from final
