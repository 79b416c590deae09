-- The organization chart: every live, enabled person with the organization, site and manager
-- (names resolved against the organizations, sites and people), and the chain of managers
-- above them. The walk goes up one manager per step from every person, as the organization
-- hierarchy does for parents, so a cycle (A manages B, B manages A) or a chain longer than
-- xurrent_hierarchy_max_depth stops instead of running away. Managers are looked up among
-- every person the warehouse knows: a disabled, archived or trashed manager still heads their
-- reports (manager_status says which), and their own chain goes on above them.
{%- set max_depth = var('xurrent_hierarchy_max_depth', 50) | int %}

with recursive known_people as (
    select
        person_key,
        id as person_id,
        name,
        coalesce(name, {{ dbt.cast('id', xurrent.type_text()) }}) as label,
        manager_id,
        case
            when coalesce(_fivetran_deleted, false) then 'removed'
            when coalesce(disabled, false) then 'disabled'
            else 'active'
        end as person_status,
        row_number() over (
            partition by id
            order by
                case when coalesce(_fivetran_deleted, false) then 1 else 0 end,
                _fivetran_synced desc nulls last,
                person_key
        ) as id_rank
    from (
        select
            tmp.*,
            {{ xurrent.record_key('owning_account_id', 'source_relation', 'id') }} as person_key
        from {{ ref('stg_xurrent__people_tmp') }} as tmp
        where is_kept_copy
            and id is not null
    ) as copies
),

-- One person per id, to resolve references (which carry an id but no account): the live copy
-- before a removed one, then the most recently synced.
people_by_id as (
    select * from known_people where id_rank = 1
),

-- The people the chart shows: live and enabled.
chart_people as (
    select *
    from {{ ref('stg_xurrent__people') }}
    where not coalesce(is_disabled, false)
),

-- One row per chart person and manager above them (the person at step 0). Paths are built
-- top-down: id_path "/top/.../manager/self/", name_path "Top > ... > Self", cast to text of
-- any length, since a recursive CTE keeps the types of its first part.
management {{ xurrent.recursive_cte_columns([
    'person_key', 'person_id', 'ancestor_id', 'ancestor_label', 'next_manager_id', 'steps',
    'id_path', 'name_path']) }} as (
    select
        person_key,
        person_id,
        person_id as ancestor_id,
        coalesce(name, {{ dbt.cast('person_id', xurrent.type_text()) }}) as ancestor_label,
        manager_id as next_manager_id,
        0 as steps,
        {{ dbt.cast(dbt.concat(["'/'", dbt.cast('person_id', xurrent.type_text()), "'/'"]), xurrent.type_text()) }} as id_path,
        {{ dbt.cast("coalesce(name, " ~ dbt.cast('person_id', xurrent.type_text()) ~ ")", xurrent.type_text()) }} as name_path
    from chart_people

    union all

    select
        walk.person_key,
        walk.person_id,
        manager.person_id as ancestor_id,
        manager.label as ancestor_label,
        manager.manager_id as next_manager_id,
        walk.steps + 1 as steps,
        {{ dbt.cast(dbt.concat(["'/'", dbt.cast('manager.person_id', xurrent.type_text()), "walk.id_path"]), xurrent.type_text()) }} as id_path,
        {{ dbt.cast(dbt.concat(["manager.label", "' > '", "walk.name_path"]), xurrent.type_text()) }} as name_path
    from management as walk
    inner join people_by_id as manager
        on manager.person_id = walk.next_manager_id
    where walk.steps < {{ max_depth }}
        and {{ dbt.position(dbt.concat(["'/'", dbt.cast('manager.person_id', xurrent.type_text()), "'/'"]), 'walk.id_path') }} = 0
),

-- The last step of each walk: the top of the chain (or where the walk had to stop).
top_of_chain as (
    select *
    from (
        select
            management.*,
            row_number() over (partition by person_key order by steps desc) as step_rank
        from management
    ) as ranked
    where step_rank = 1
),

-- Reports: chart people below a manager, directly (one step) or at any depth.
reports as (
    select
        ancestor_id as person_id,
        count(*) as report_count,
        sum(case when steps = 1 then 1 else 0 end) as direct_report_count
    from management
    where steps > 0
    group by ancestor_id
),

organizations as (
    select * from {{ ref('int_xurrent__organization_lookup') }}
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

final as (
    select
        chart_people.person_key,
        chart_people.source_relation,
        chart_people.account_id,
        chart_people.person_id,
        chart_people.name,
        chart_people.job_title,
        chart_people.organization_id,
        coalesce(organization.name, chart_people.organization_name) as organization_name,
        organization.organization_id is not null as is_organization_known,
        organization.top_organization_name,
        count(*) over (
            partition by chart_people.organization_id
        ) as organization_headcount,
        chart_people.site_id,
        coalesce(site.name, chart_people.site_name) as site_name,
        site.site_id is not null as is_site_known,
        chart_people.manager_id,
        coalesce(manager.name, chart_people.manager_name) as manager_name,
        case
            when chart_people.manager_id is null then null
            when manager.person_id is null then 'unknown'
            else manager.person_status
        end as manager_status,
        top_of_chain.steps as management_depth,
        top_of_chain.ancestor_id as top_manager_id,
        top_of_chain.ancestor_label as top_manager_name,
        top_of_chain.id_path as manager_id_path,
        top_of_chain.name_path as manager_name_path,
        case
            when top_of_chain.next_manager_id is null then 'top_level'
            when next_manager.person_id is null then 'manager_missing'
            when {{ dbt.position(dbt.concat(["'/'", dbt.cast('top_of_chain.next_manager_id', xurrent.type_text()), "'/'"]), 'top_of_chain.id_path') }} > 0
                then 'cycle'
            else 'max_depth'
        end as chain_end,
        coalesce(reports.direct_report_count, 0) as direct_report_count,
        coalesce(reports.report_count, 0) as report_count
    from chart_people
    inner join top_of_chain
        on top_of_chain.person_key = chart_people.person_key
    left join people_by_id as manager
        on manager.person_id = chart_people.manager_id
    left join people_by_id as next_manager
        on next_manager.person_id = top_of_chain.next_manager_id
    left join organizations as organization
        on organization.organization_id = chart_people.organization_id
    left join sites as site
        on site.site_id = chart_people.site_id
        and site.id_rank = 1
    left join reports
        on reports.person_id = chart_people.person_id
)

select * from final
