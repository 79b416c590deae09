-- Every live organization with its place in the parent tree: the path from its top-level
-- organization down to it, its depth (0 = top level) and how the walk up ended. The walk
-- goes up one parent per step from every organization, so a cycle (A's parent is B, B's is
-- A) or a chain longer than xurrent_hierarchy_max_depth stops instead of running away.
{%- set max_depth = var('xurrent_hierarchy_max_depth', 50) | int %}

with recursive organizations as (
    select
        organization_key,
        source_relation,
        account_id,
        organization_id,
        coalesce(name, {{ dbt.cast('organization_id', xurrent.type_text()) }}) as label,
        name,
        parent_id,
        is_business_unit,
        business_unit_organization_id,
        is_disabled
    from {{ ref('stg_xurrent__organizations') }}
),

-- One row per organization and ancestor (itself at step 0). Paths are built top-down:
-- id_path "/top/.../parent/self/", name_path "Top > ... > Self"; both are cast to text of any
-- length, since a recursive CTE keeps the types of its first part.
ancestry {{ xurrent.recursive_cte_columns([
    'organization_key', 'organization_id', 'ancestor_id', 'ancestor_label', 'next_parent_id',
    'steps', 'id_path', 'name_path']) }} as (
    select
        organization_key,
        organization_id,
        organization_id as ancestor_id,
        label as ancestor_label,
        parent_id as next_parent_id,
        0 as steps,
        {{ dbt.cast(dbt.concat(["'/'", dbt.cast('organization_id', xurrent.type_text()), "'/'"]), xurrent.type_text()) }} as id_path,
        {{ dbt.cast('label', xurrent.type_text()) }} as name_path
    from organizations

    union all

    select
        walk.organization_key,
        walk.organization_id,
        parent.organization_id as ancestor_id,
        parent.label as ancestor_label,
        parent.parent_id as next_parent_id,
        walk.steps + 1 as steps,
        {{ dbt.cast(dbt.concat(["'/'", dbt.cast('parent.organization_id', xurrent.type_text()), "walk.id_path"]), xurrent.type_text()) }} as id_path,
        {{ dbt.cast(dbt.concat(["parent.label", "' > '", "walk.name_path"]), xurrent.type_text()) }} as name_path
    from ancestry as walk
    inner join organizations as parent
        on parent.organization_id = walk.next_parent_id
    where walk.steps < {{ max_depth }}
        and {{ dbt.position(dbt.concat(["'/'", dbt.cast('parent.organization_id', xurrent.type_text()), "'/'"]), 'walk.id_path') }} = 0
),

-- The last step of each walk: the top-level organization (or where the walk had to stop).
top_of_walk as (
    select *
    from (
        select
            ancestry.*,
            row_number() over (partition by organization_key order by steps desc) as step_rank
        from ancestry
    ) as ranked
    where step_rank = 1
),

descendants as (
    select
        ancestor_id as organization_id,
        count(*) as descendant_count,
        sum(case when steps = 1 then 1 else 0 end) as direct_child_count
    from ancestry
    where steps > 0
    group by ancestor_id
),

parents as (
    select distinct organization_id from organizations
),

final as (
    select
        organizations.organization_key,
        organizations.source_relation,
        organizations.account_id,
        organizations.organization_id,
        organizations.name,
        organizations.parent_id,
        top_of_walk.steps as depth,
        top_of_walk.ancestor_id as top_organization_id,
        top_of_walk.ancestor_label as top_organization_name,
        top_of_walk.id_path,
        top_of_walk.name_path,
        case
            when top_of_walk.next_parent_id is null then 'top_level'
            when known_parent.organization_id is null then 'parent_missing'
            when {{ dbt.position(dbt.concat(["'/'", dbt.cast('top_of_walk.next_parent_id', xurrent.type_text()), "'/'"]), 'top_of_walk.id_path') }} > 0
                then 'cycle'
            else 'max_depth'
        end as hierarchy_end,
        coalesce(descendants.direct_child_count, 0) as direct_child_count,
        coalesce(descendants.descendant_count, 0) as descendant_count,
        organizations.is_business_unit,
        organizations.business_unit_organization_id,
        organizations.is_disabled
    from organizations
    inner join top_of_walk
        on top_of_walk.organization_key = organizations.organization_key
    left join parents as known_parent
        on known_parent.organization_id = top_of_walk.next_parent_id
    left join descendants
        on descendants.organization_id = organizations.organization_id
)

select * from final
