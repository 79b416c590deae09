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
        {{ xurrent.removal_fields() }}
    from copies
    where coalesce(_fivetran_deleted, false)
)

{{ xurrent.select_with_custom_fields('final', 'project_key', 'projects') }}
