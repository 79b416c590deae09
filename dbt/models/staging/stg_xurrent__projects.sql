-- Live projects (neither archived nor trashed), one row per (owning account, id), typed.
with copies as (
    select *
    from {{ ref('stg_xurrent__projects_tmp') }}
    where is_kept_copy
),

final as (
    select
        {{ xurrent.project_fields() }}
    from copies
    where {{ xurrent.is_live() }}
)

{{ xurrent.select_with_custom_fields('final', 'project_key', 'projects') }}
