-- Progress of every live project, per phase: its live tasks by status, the effort planned for
-- them against the time written on them (live time entries, deleted ones left out), the tasks
-- past their deadline and not finished, and per project the share of its tasks completed. A
-- project without tasks has one row without a phase; tasks without a phase are one row without
-- a phase. Tasks whose project is not a live project (archived, trashed or unknown) are left
-- out, and so is the time written on tasks that are not live.
--
-- Tasks, time entries and projects meet within one connection (source_relation): ids of two
-- stacked connections may coincide.
--
-- Completed: status completed or approved (an approval task is approved rather than
-- completed). Finished: completed, approved, failed, rejected or canceled. Overdue: a deadline
-- in the past and not finished.
{%- set statuses = [
    'registered', 'declined', 'assigned', 'accepted', 'in_progress', 'waiting_for',
    'failed', 'rejected', 'completed', 'approved', 'canceled'] %}
{%- set finished = ['completed', 'approved', 'failed', 'rejected', 'canceled'] %}

with projects as (
    select
        project_key,
        source_relation,
        account_id,
        project_id,
        subject,
        status
    from {{ ref('stg_xurrent__projects') }}
),

time_written as (
    select
        source_relation,
        project_task_id,
        sum(time_spent_minutes) as time_spent_minutes,
        count(*) as time_entry_count
    from {{ ref('stg_xurrent__time_entries') }}
    where project_task_id is not null
    group by source_relation, project_task_id
),

tasks as (
    select
        tasks.source_relation,
        tasks.project_id,
        tasks.phase_id,
        tasks.phase_name,
        tasks.status,
        tasks.planned_effort_minutes,
        coalesce(time_written.time_spent_minutes, 0) as time_spent_minutes,
        coalesce(time_written.time_entry_count, 0) as time_entry_count,
        case when tasks.status in ('completed', 'approved') then 1 else 0 end as is_completed,
        case
            when tasks.deadline < {{ dbt.current_timestamp() }}
                and (tasks.status is null or tasks.status not in ('{{ finished | join("', '") }}'))
                then 1
            else 0
        end as is_overdue
    from {{ ref('stg_xurrent__project_tasks') }} as tasks
    left join time_written
        on time_written.source_relation = tasks.source_relation
        and time_written.project_task_id = tasks.project_task_id
    where tasks.project_id is not null
),

phases as (
    select
        source_relation,
        project_id,
        phase_id,
        max(phase_name) as phase_name,
        count(*) as task_count,
        {%- for status in statuses %}
        sum(case when status = '{{ status }}' then 1 else 0 end) as {{ status }}_task_count,
        {%- endfor %}
        sum(
            case
                when status is null or status not in ('{{ statuses | join("', '") }}') then 1
                else 0
            end
        ) as other_status_task_count,
        sum(is_completed) as completed_or_approved_task_count,
        sum(is_overdue) as overdue_task_count,
        sum(planned_effort_minutes) as planned_effort_minutes,
        sum(time_spent_minutes) as time_spent_minutes,
        sum(time_entry_count) as time_entry_count
    from tasks
    group by source_relation, project_id, phase_id
),

final as (
    select
        projects.project_key,
        projects.source_relation,
        projects.account_id,
        projects.project_id,
        projects.subject,
        projects.status as project_status,
        phases.phase_id,
        phases.phase_name,
        coalesce(phases.task_count, 0) as task_count,
        {%- for status in statuses %}
        coalesce(phases.{{ status }}_task_count, 0) as {{ status }}_task_count,
        {%- endfor %}
        coalesce(phases.other_status_task_count, 0) as other_status_task_count,
        coalesce(phases.completed_or_approved_task_count, 0) as completed_or_approved_task_count,
        coalesce(phases.overdue_task_count, 0) as overdue_task_count,
        coalesce(phases.planned_effort_minutes, 0) as planned_effort_minutes,
        coalesce(phases.time_spent_minutes, 0) as time_spent_minutes,
        coalesce(phases.time_entry_count, 0) as time_entry_count,
        coalesce(phases.time_spent_minutes, 0) - coalesce(phases.planned_effort_minutes, 0)
            as effort_variance_minutes
    from projects
    left join phases
        on phases.source_relation = projects.source_relation
        and phases.project_id = projects.project_id
),

project_totals as (
    select
        final.*,
        sum(task_count) over (partition by project_key) as project_task_count,
        sum(completed_or_approved_task_count) over (partition by project_key)
            as project_completed_task_count,
        sum(overdue_task_count) over (partition by project_key) as project_overdue_task_count,
        sum(planned_effort_minutes) over (partition by project_key)
            as project_planned_effort_minutes,
        sum(time_spent_minutes) over (partition by project_key) as project_time_spent_minutes
    from final
)

select
    *,
    case
        when project_task_count > 0
            then {{ dbt.cast('project_completed_task_count', xurrent.type_double()) }}
                / project_task_count
    end as project_completed_share
from project_totals
