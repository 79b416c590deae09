{{ config(materialized='incremental', unique_key='table_size_key') }}
-- The size of every connector table, measured at each dbt run and filed under the latest
-- sync of that table: the table size after that sync. The connector cannot know it (it
-- only sees the API), so the package keeps it; run dbt after every sync (Fivetran
-- Transformations' integrated scheduling does) for a size per sync. A later run after the
-- same sync replaces its row. `archive` and `trash` are the soft-deleted projects that the
-- connector's archive and trash streams marked. Every copy counts: a table's size is its
-- size in that connection's schema, before the staging models keep one copy per account.
with organizations as (
    select * from {{ ref('stg_xurrent__organizations_tmp') }}
),

products as (
    select * from {{ ref('stg_xurrent__products_tmp') }}
),

projects as (
    select * from {{ ref('stg_xurrent__projects_tmp') }}
),

sizes as (
    select
        source_relation,
        'organizations' as table_name,
        count(*) as table_rows,
        sum(case when {{ xurrent.is_live() }} then 1 else 0 end) as live_rows
    from organizations
    group by source_relation

    union all

    select
        source_relation,
        'products' as table_name,
        count(*) as table_rows,
        sum(case when {{ xurrent.is_live() }} then 1 else 0 end) as live_rows
    from products
    group by source_relation

    union all

    select
        source_relation,
        'projects' as table_name,
        count(*) as table_rows,
        sum(case when {{ xurrent.is_live() }} then 1 else 0 end) as live_rows
    from projects
    group by source_relation

    union all

    select
        source_relation,
        'archive' as table_name,
        sum(case when archived_at is not null and trashed_at is null then 1 else 0 end)
            as table_rows,
        0 as live_rows
    from projects
    group by source_relation

    union all

    select
        source_relation,
        'trash' as table_name,
        sum(case when trashed_at is not null then 1 else 0 end) as table_rows,
        0 as live_rows
    from projects
    group by source_relation
),

latest_syncs as (
    select
        source_relation,
        table_name,
        sync_id,
        row_number() over (
            partition by source_relation, table_name
            order by sync_started_at desc nulls last, finished_at desc nulls last, sync_id
        ) as recency
    from {{ ref('stg_xurrent__sync_health') }}
),

final as (
    select
        {{ dbt.concat(["sizes.source_relation", "'/'", "latest_syncs.sync_id", "'/'", "sizes.table_name"]) }}
            as table_size_key,
        sizes.source_relation,
        latest_syncs.sync_id,
        sizes.table_name,
        sizes.table_rows,
        sizes.live_rows,
        {{ dbt.current_timestamp() }} as measured_at
    from sizes
    inner join latest_syncs
        on latest_syncs.source_relation = sizes.source_relation
        and latest_syncs.table_name = sizes.table_name
        and latest_syncs.recency = 1
)

select * from final
