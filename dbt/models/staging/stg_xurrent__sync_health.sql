-- One row per connection, sync and stream (table_name), typed. Columns that the connector
-- version in use does not write are NULL.
with unioned as (
    {{ xurrent.union_connections('sync_health') }}
),

final as (
    select
        {{ dbt.concat(["source_relation", "'/'", "sync_id", "'/'", "table_name"]) }}
            as sync_health_key,
        source_relation,
        coalesce(account_id, connection_account_id) as account_id,
        sync_id,
        table_name,
        status,
        error,
        sync_started_at,
        started_at,
        finished_at,
        duration_seconds,
        rows_upserted,
        rows_deleted,
        pages,
        repaired_values,
        skipped_records,
        requests,
        retries,
        throttled_429,
        failed_requests,
        error_rate,
        errors_by_kind,
        mean_response_ms,
        p_95_response_ms,
        ratelimit_limit,
        ratelimit_remaining,
        cursor_reached,
        api_host,
        api_user_id,
        api_user_name,
        credentials_used,
        _fivetran_synced
    from unioned
    where {{ xurrent.is_live() }}
)

select * from final
