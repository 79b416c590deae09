-- Archived and trashed project tasks: the connector keeps them as soft-deleted rows with the
-- moment they entered the archive or the trash.
{%- set renamed = {'urgent': 'is_urgent', 'planned_duration': 'planned_duration_minutes', 'planned_effort': 'planned_effort_minutes', 'resolution_duration': 'resolution_duration_minutes'} %}
with copies as (
    select *
    from {{ ref('stg_xurrent__project_tasks_tmp') }}
    where is_kept_copy
),

final as (
    select
        {{ xurrent.staged_fields('project_tasks', 'project_task', renamed) }},
        {{ xurrent.removal_fields() }}
    from copies
    where coalesce(_fivetran_deleted, false)
)

{{ xurrent.select_with_custom_fields('final', 'project_task_key', 'project_tasks') }}
