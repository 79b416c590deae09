-- Per connection and stream (table_name in sync_health): the latest sync, the last one that
-- succeeded, the hours since, and whether the business's targets hold: data at most
-- xurrent_freshness_operational_hours (6) old for operational reporting and
-- xurrent_freshness_analytics_hours (24) for analytics. A stream that never succeeded
-- misses both. `dbt source freshness` checks the tables' _fivetran_synced the same way.
with health as (
    select * from {{ ref('stg_xurrent__sync_health') }}
),

streams as (
    select
        source_relation,
        table_name,
        max(account_id) as account_id,
        max(sync_started_at) as last_sync_started_at,
        max(case when status = 'succeeded' then finished_at end) as last_succeeded_at,
        count(distinct sync_id) as syncs
    from health
    group by source_relation, table_name
),

measured as (
    select
        streams.*,
        {{ dbt.datediff('last_succeeded_at', dbt.current_timestamp(), 'second') }} / 3600.0
            as hours_since_success
    from streams
)

select
    {{ dbt.concat(["source_relation", "'/'", "table_name"]) }} as freshness_key,
    measured.*,
    coalesce(hours_since_success <= {{ var('xurrent_freshness_operational_hours', 6) }}, false)
        as meets_operational_target,
    coalesce(hours_since_success <= {{ var('xurrent_freshness_analytics_hours', 24) }}, false)
        as meets_analytics_target
from measured
