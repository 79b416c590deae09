-- How many live projects had each status at the end of every day since the first snapshot
-- (xurrent__projects_snapshot), per connection, with the day-on-day change and an anomaly
-- flag: a count outside the mean +/- xurrent_anomaly_stddevs standard deviations of the
-- same status on the previous xurrent_anomaly_window days. A day's figure is the
-- state as of the latest snapshot taken by then; days before the first snapshot are unknown.
{%- set snapshot = ref('xurrent__projects_snapshot') %}
{%- set window = var('xurrent_anomaly_window', 30) | int %}
{%- set stddevs = var('xurrent_anomaly_stddevs', 3) %}
{%- set today = dbt.cast(dbt.current_timestamp(), 'date') %}

with versions as (
    select
        source_relation,
        project_key,
        status,
        lifecycle_state,
        dbt_valid_from,
        dbt_valid_to
    from {{ snapshot }}
),

days as (
    {{ dbt.date_spine(
        'day',
        'coalesce((select ' ~ dbt.cast('min(dbt_valid_from)', 'date') ~ ' from ' ~ snapshot ~ '), ' ~ today ~ ')',
        dbt.dateadd('day', 1, today)
    ) }}
),

calendar as (
    select {{ dbt.cast('date_day', 'date') }} as status_date
    from days
),

statuses as (
    select distinct
        source_relation,
        coalesce(status, '(none)') as status
    from versions
),

-- The version of each project that was current at the end of each day.
day_versions as (
    select
        calendar.status_date,
        versions.source_relation,
        coalesce(versions.status, '(none)') as status,
        versions.project_key
    from calendar
    inner join versions
        on versions.dbt_valid_from < {{ xurrent.day_after('calendar.status_date') }}
        and (
            versions.dbt_valid_to is null
            or versions.dbt_valid_to >= {{ xurrent.day_after('calendar.status_date') }}
        )
    where versions.lifecycle_state = 'live'
),

counted as (
    select
        status_date,
        source_relation,
        status,
        count(*) as project_count
    from day_versions
    group by status_date, source_relation, status
),

-- Every status on every day, zero when no project had it.
grid as (
    select
        calendar.status_date,
        statuses.source_relation,
        statuses.status,
        coalesce(counted.project_count, 0) as project_count
    from calendar
    cross join statuses
    left join counted
        on counted.status_date = calendar.status_date
        and counted.source_relation = statuses.source_relation
        and counted.status = statuses.status
),

trended as (
    select
        grid.*,
        sum(project_count) over (partition by source_relation, status_date) as day_project_count,
        project_count - lag(project_count) over (
            partition by source_relation, status order by status_date
        ) as change_from_previous_day,
        avg({{ dbt.cast('project_count', xurrent.type_double()) }}) over (
            partition by source_relation, status order by status_date
            rows between {{ window }} preceding and 1 preceding
        ) as trailing_mean,
        stddev_samp({{ dbt.cast('project_count', xurrent.type_double()) }}) over (
            partition by source_relation, status order by status_date
            rows between {{ window }} preceding and 1 preceding
        ) as trailing_stddev,
        count(*) over (
            partition by source_relation, status order by status_date
            rows between {{ window }} preceding and 1 preceding
        ) as trailing_days
    from grid
),

final as (
    select
        status_date,
        source_relation,
        status,
        project_count,
        day_project_count,
        case
            when day_project_count > 0
                then {{ dbt.cast('project_count', xurrent.type_double()) }} / day_project_count
        end as share_of_day,
        change_from_previous_day,
        trailing_mean,
        trailing_stddev,
        case
            when trailing_days < {{ var('xurrent_anomaly_min_history', 5) }} then false
            when project_count > trailing_mean + {{ stddevs }} * coalesce(trailing_stddev, 0)
                then true
            when project_count < trailing_mean - {{ stddevs }} * coalesce(trailing_stddev, 0)
                then true
            else false
        end as is_anomaly,
        status_date = max(status_date) over () as is_latest_day
    from trended
)

select * from final
