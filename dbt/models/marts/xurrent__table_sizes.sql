{{ config(materialized='incremental', unique_key='table_size_key') }}
-- The size of every connector table, measured at each dbt run and filed under the latest
-- sync of that table: the table size after that sync. The connector cannot know it (it
-- only sees the API), so the package keeps it; run dbt after every sync (Fivetran
-- Transformations' integrated scheduling does) for a size per sync. A later run after the
-- same sync replaces its row. `archive` and `trash` are the soft-deleted records (projects,
-- people, configuration items, project tasks, time entries) that the connector's archive and
-- trash streams marked. Every copy counts: a table's size is its size in that connection's
-- schema, before the staging models keep one copy per account.
{%- set tables = [
    'organizations', 'products', 'projects', 'people', 'teams', 'sites', 'services',
    'service_instances', 'configuration_items', 'contracts', 'project_tasks', 'time_entries'] %}
{#- The tables whose records go to the archive and the trash (they have archived_at and
    trashed_at). -#}
{%- set binned = ['projects', 'people', 'configuration_items', 'project_tasks', 'time_entries'] %}

with sizes as (
    {%- for table in tables %}
    select
        source_relation,
        '{{ table }}' as table_name,
        count(*) as table_rows,
        sum(case when {{ xurrent.is_live() }} then 1 else 0 end) as live_rows
    from {{ ref('stg_xurrent__' ~ table ~ '_tmp') }}
    group by source_relation

    union all
    {%- endfor %}

    select
        source_relation,
        bin_name as table_name,
        sum(in_bin) as table_rows,
        0 as live_rows
    from (
        {%- for table in binned %}
        select
            source_relation,
            'archive' as bin_name,
            case when archived_at is not null and trashed_at is null then 1 else 0 end as in_bin
        from {{ ref('stg_xurrent__' ~ table ~ '_tmp') }}

        union all

        select
            source_relation,
            'trash' as bin_name,
            case when trashed_at is not null then 1 else 0 end as in_bin
        from {{ ref('stg_xurrent__' ~ table ~ '_tmp') }}
        {%- if not loop.last %}

        union all
        {%- endif %}
        {%- endfor %}
    ) as binned_rows
    group by source_relation, bin_name
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
