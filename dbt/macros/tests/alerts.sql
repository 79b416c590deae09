{#- Alerts on xurrent__sync_monitoring. Each returns what is wrong, so the rows show where;
    they run as tests, so a failing alert fails `dbt build` (Fivetran Transformations then
    notifies). Windows are relative to the time dbt runs. -#}

{#- The share of failed requests (429s excluded) of a stream over the last lookback_hours
    is above max_rate. -#}
{% test xurrent_alert_error_rate(model, max_rate, lookback_hours) %}
with recent as (
    select
        source_relation,
        table_name,
        sum(requests) as requests,
        sum(failed_requests) as failed_requests
    from {{ model }}
    where sync_started_at >= {{ xurrent.timestamp_add('hour', -1 * lookback_hours, dbt.current_timestamp()) }}
    group by source_relation, table_name
)

select
    source_relation,
    table_name,
    requests,
    failed_requests,
    {{ dbt.cast('failed_requests', xurrent.type_double()) }} / requests as error_rate
from recent
where requests > 0
    and failed_requests > {{ max_rate }} * requests
{% endtest %}

{#- A sync that started in the last lookback_hours took longer than max_hours. -#}
{% test xurrent_alert_long_sync(model, max_hours, lookback_hours) %}
select distinct
    source_relation,
    sync_id,
    sync_started_at,
    sync_finished_at,
    sync_duration_seconds
from {{ model }}
where sync_started_at >= {{ xurrent.timestamp_add('hour', -1 * lookback_hours, dbt.current_timestamp()) }}
    and sync_duration_seconds > {{ max_hours }} * 3600
{% endtest %}

{#- The latest sync of a connection is the max_failures-th (or later) failed sync in a row. -#}
{% test xurrent_alert_consecutive_failures(model, max_failures) %}
select distinct
    source_relation,
    sync_id,
    sync_started_at,
    consecutive_failed_syncs
from {{ model }}
where is_latest_sync
    and consecutive_failed_syncs >= {{ max_failures }}
{% endtest %}

{#- An anomaly flag (a boolean column) is raised; scope it with the test's `where` config (the
    latest sync, the latest day). One row per raised flag. -#}
{% test xurrent_flag_not_raised(model, column_name) %}
select *
from {{ model }}
where {{ column_name }}
{% endtest %}

{#- A target (a boolean column, true when it holds) does not hold. One row per miss. -#}
{% test xurrent_target_met(model, column_name) %}
select *
from {{ model }}
where not {{ column_name }}
{% endtest %}
