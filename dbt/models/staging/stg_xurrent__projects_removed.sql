-- Archived and trashed projects: the connector keeps them as soft-deleted rows with the
-- moment they entered the archive or the trash.
with copies as (
    select *
    from {{ ref('stg_xurrent__projects_tmp') }}
    where is_kept_copy
),

final as (
    select
        {{ xurrent.project_fields() }},
        archived_at,
        trashed_at,
        case
            when trashed_at is not null then 'trashed'
            when archived_at is not null then 'archived'
            else 'deleted'
        end as removal_state,
        coalesce(trashed_at, archived_at) as removed_at
    from copies
    where coalesce(_fivetran_deleted, false)
)

{{ xurrent.select_with_custom_fields('final', 'project_key', 'projects') }}
