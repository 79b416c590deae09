-- Live project tasks (neither archived nor trashed), one row per (owning account, id), typed, from
-- every connection: every column of columns.sql, the id as project_task_id.
{%- set renamed = {'urgent': 'is_urgent', 'planned_duration': 'planned_duration_minutes', 'planned_effort': 'planned_effort_minutes', 'resolution_duration': 'resolution_duration_minutes'} %}
with copies as (
    select *
    from {{ ref('stg_xurrent__project_tasks_tmp') }}
    where is_kept_copy
),

final as (
    select
        {{ xurrent.staged_fields('project_tasks', 'project_task', renamed) }}
    from copies
    where {{ xurrent.is_live() }}
)

{{ xurrent.select_with_custom_fields('final', 'project_task_key', 'project_tasks') }}
