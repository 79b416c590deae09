-- Each project's status periods, from the status snapshot (xurrent__projects_snapshot): one
-- row per status (and lifecycle state) a project held, in order, with when it entered and
-- left it, the hours spent in it, whether it reopened a completed project, and the changes
-- of the completion target meanwhile. Times are when dbt observed the change (the snapshot
-- runs with every build): run dbt after every sync for sync-level precision.
with versions as (
    select
        project_key,
        source_relation,
        account_id,
        project_id,
        status,
        lifecycle_state,
        completion_target_at,
        dbt_valid_from as valid_from,
        dbt_valid_to as valid_to
    from {{ ref('xurrent__projects_snapshot') }}
),

sequenced as (
    select
        versions.*,
        row_number() over (partition by project_key order by valid_from) as version_number,
        lag(status) over (partition by project_key order by valid_from) as previous_status,
        lag(lifecycle_state) over (partition by project_key order by valid_from)
            as previous_lifecycle_state,
        lag(completion_target_at) over (partition by project_key order by valid_from)
            as previous_completion_target_at
    from versions
),

-- A version starts a new period when the status or the lifecycle state changed; a change
-- of the completion target alone does not. Comparisons are NULL-safe.
marked as (
    select
        sequenced.*,
        case
            when version_number = 1 then 1
            when coalesce(status, '') <> coalesce(previous_status, '') then 1
            when lifecycle_state <> previous_lifecycle_state then 1
            else 0
        end as starts_period,
        case
            when version_number = 1 then 0
            when completion_target_at is null and previous_completion_target_at is null then 0
            when completion_target_at = previous_completion_target_at then 0
            else 1
        end as changes_completion_target
    from sequenced
),

numbered as (
    select
        marked.*,
        cast(sum(starts_period) over (
            partition by project_key order by valid_from
            rows between unbounded preceding and current row
        ) as {{ dbt.type_bigint() }}) as period_number
    from marked
),

periods as (
    select
        project_key,
        period_number,
        min(valid_from) as entered_at,
        -- Open (NULL) while one of its versions is still current.
        case when count(valid_to) = count(*) then max(valid_to) end as left_at,
        sum(changes_completion_target) as completion_target_changes,
        min(version_number) as first_version,
        max(version_number) as last_version
    from numbered
    group by project_key, period_number
),

final as (
    select
        {{ dbt.concat(["periods.project_key", "'/'", dbt.cast('periods.period_number', xurrent.type_text())]) }}
            as status_period_key,
        periods.project_key,
        entered.source_relation,
        entered.account_id,
        entered.project_id,
        periods.period_number,
        entered.status,
        entered.lifecycle_state,
        case when periods.period_number > 1 then entered.previous_status end as previous_status,
        case when periods.period_number > 1 then entered.previous_lifecycle_state end
            as previous_lifecycle_state,
        periods.entered_at,
        periods.left_at,
        periods.left_at is null as is_current,
        {{ dbt.datediff('periods.entered_at', 'coalesce(periods.left_at, ' ~ dbt.current_timestamp() ~ ')', 'second') }}
            / 3600.0 as hours_in_status,
        coalesce(entered.previous_status = 'completed'
            and coalesce(entered.status, '') <> 'completed', false) as is_reopening,
        entered.completion_target_at as completion_target_at_entry,
        latest.completion_target_at as completion_target_at_latest,
        periods.completion_target_changes
    from periods
    inner join numbered as entered
        on entered.project_key = periods.project_key
        and entered.version_number = periods.first_version
    inner join numbered as latest
        on latest.project_key = periods.project_key
        and latest.version_number = periods.last_version
)

select
    final.*,
    cast(sum(case when is_reopening then 1 else 0 end) over (
        partition by project_key order by period_number
        rows between unbounded preceding and current row
    ) as {{ dbt.type_bigint() }}) as reopenings_so_far
from final
