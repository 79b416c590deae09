-- One row per connection, sync and stream (table_name) from sync_health, with what the
-- alerts and a dashboard need: the error rate (failed requests / requests, 429s excluded),
-- durations of the stream and of the whole sync, the table size after the sync
-- (xurrent__table_sizes), runs of consecutive failures, and anomaly flags when rows written
-- or the table size leave the mean +/- xurrent_anomaly_stddevs standard deviations of the
-- previous xurrent_anomaly_window syncs of that stream (succeeded syncs only, and only a
-- succeeded sync is flagged: a failed one has its own alert).
{%- set window = var('xurrent_anomaly_window', 30) | int %}
{%- set stddevs = var('xurrent_anomaly_stddevs', 3) %}
{%- set min_history = var('xurrent_anomaly_min_history', 5) | int %}

with health as (
    select * from {{ ref('stg_xurrent__sync_health') }}
),

sizes as (
    select * from {{ ref('xurrent__table_sizes') }}
),

-- A sync failed when one of its streams failed; it was rate limited when a stream stopped
-- on the hourly budget (it resumes next time) and none failed. A stream skipped because the
-- API refused to list its table (403 or 404) does not fail the sync, as the connector says.
syncs as (
    select
        source_relation,
        sync_id,
        min(sync_started_at) as sync_started_at,
        max(finished_at) as sync_finished_at,
        case
            when sum(case when status = 'failed' then 1 else 0 end) > 0 then 'failed'
            when sum(case when status = 'rate_limited' then 1 else 0 end) > 0 then 'rate_limited'
            else 'succeeded'
        end as sync_status
    from health
    group by source_relation, sync_id
),

-- Consecutive failed syncs: failures since the last succeeded sync (a rate-limited sync
-- neither counts nor breaks the run).
sync_runs as (
    select
        syncs.*,
        sum(case when sync_status = 'succeeded' then 1 else 0 end) over (
            partition by source_relation order by sync_started_at nulls first, sync_id
            rows between unbounded preceding and current row
        ) as success_group,
        row_number() over (
            partition by source_relation order by sync_started_at desc nulls last, sync_id desc
        ) as sync_recency
    from syncs
),

sync_streaks as (
    select
        sync_runs.*,
        sum(case when sync_status = 'failed' then 1 else 0 end) over (
            partition by source_relation, success_group order by sync_started_at nulls first, sync_id
            rows between unbounded preceding and current row
        ) as consecutive_failed_syncs,
        {{ dbt.datediff('sync_started_at', 'sync_finished_at', 'second') }} as sync_duration_seconds
    from sync_runs
),

streams as (
    select
        health.*,
        sizes.table_rows,
        sizes.live_rows,
        case
            when health.requests > 0
                then {{ dbt.cast('coalesce(health.failed_requests, 0)', xurrent.type_double()) }}
                    / health.requests
            else 0
        end as computed_error_rate,
        case when health.status = 'succeeded' then health.rows_upserted end as ok_rows,
        case when health.status = 'succeeded' then sizes.table_rows end as ok_table_rows,
        sum(case when health.status = 'succeeded' then 1 else 0 end) over (
            partition by health.source_relation, health.table_name
            order by health.sync_started_at nulls first, health.sync_id
            rows between unbounded preceding and current row
        ) as stream_success_group
    from health
    left join sizes
        on sizes.source_relation = health.source_relation
        and sizes.sync_id = health.sync_id
        and sizes.table_name = health.table_name
),

stream_stats as (
    select
        streams.*,
        sum(case when status = 'failed' then 1 else 0 end) over (
            partition by source_relation, table_name, stream_success_group
            order by sync_started_at nulls first, sync_id
            rows between unbounded preceding and current row
        ) as consecutive_failures,
        {%- for measure in ['ok_rows', 'ok_table_rows'] %}
        avg({{ dbt.cast(measure, xurrent.type_double()) }}) over (
            partition by source_relation, table_name order by sync_started_at nulls first, sync_id
            rows between {{ window }} preceding and 1 preceding
        ) as {{ measure }}_mean,
        stddev_samp({{ dbt.cast(measure, xurrent.type_double()) }}) over (
            partition by source_relation, table_name order by sync_started_at nulls first, sync_id
            rows between {{ window }} preceding and 1 preceding
        ) as {{ measure }}_stddev,
        count({{ measure }}) over (
            partition by source_relation, table_name order by sync_started_at nulls first, sync_id
            rows between {{ window }} preceding and 1 preceding
        ) as {{ measure }}_history{{ ',' if not loop.last }}
        {%- endfor %}
    from streams
),

final as (
    select
        {{ dbt.concat(["stream_stats.source_relation", "'/'", "stream_stats.sync_id", "'/'", "stream_stats.table_name"]) }}
            as sync_health_key,
        stream_stats.source_relation,
        stream_stats.account_id,
        stream_stats.sync_id,
        stream_stats.table_name,
        stream_stats.status,
        stream_stats.error,
        sync_streaks.sync_status,
        sync_streaks.sync_recency = 1 as is_latest_sync,
        stream_stats.sync_started_at,
        stream_stats.started_at,
        stream_stats.finished_at,
        sync_streaks.sync_finished_at,
        stream_stats.duration_seconds,
        sync_streaks.sync_duration_seconds,
        stream_stats.rows_upserted,
        stream_stats.rows_deleted,
        stream_stats.table_rows,
        stream_stats.live_rows,
        stream_stats.pages,
        stream_stats.repaired_values,
        stream_stats.skipped_records,
        stream_stats.requests,
        stream_stats.retries,
        stream_stats.throttled_429,
        stream_stats.failed_requests,
        stream_stats.computed_error_rate as error_rate,
        stream_stats.errors_by_kind,
        stream_stats.mean_response_ms,
        stream_stats.p_95_response_ms,
        stream_stats.ratelimit_limit,
        stream_stats.ratelimit_remaining,
        stream_stats.cursor_reached,
        stream_stats.api_host,
        stream_stats.credentials_used,
        stream_stats.consecutive_failures,
        sync_streaks.consecutive_failed_syncs,
        stream_stats.ok_rows_mean as rows_upserted_mean,
        stream_stats.ok_rows_stddev as rows_upserted_stddev,
        stream_stats.ok_table_rows_mean as table_rows_mean,
        stream_stats.ok_table_rows_stddev as table_rows_stddev,
        {%- for measure, value, name in [
            ('ok_rows', 'rows_upserted', 'is_rows_anomaly'),
            ('ok_table_rows', 'table_rows', 'is_table_size_anomaly')] %}
        case
            when stream_stats.status <> 'succeeded'
                or stream_stats.{{ measure }}_history < {{ min_history }}
                or stream_stats.{{ value }} is null
                then false
            when stream_stats.{{ value }} > stream_stats.{{ measure }}_mean
                    + {{ stddevs }} * coalesce(stream_stats.{{ measure }}_stddev, 0)
                then true
            when stream_stats.{{ value }} < stream_stats.{{ measure }}_mean
                    - {{ stddevs }} * coalesce(stream_stats.{{ measure }}_stddev, 0)
                then true
            else false
        end as {{ name }},
        {%- endfor %}
        stream_stats._fivetran_synced
    from stream_stats
    inner join sync_streaks
        on sync_streaks.source_relation = stream_stats.source_relation
        and sync_streaks.sync_id = stream_stats.sync_id
)

select * from final
