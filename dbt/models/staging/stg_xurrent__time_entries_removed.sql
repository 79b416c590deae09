-- Deleted, archived and trashed time entries: the connector keeps them as soft-deleted
-- rows (a deleted entry without archived_at or trashed_at).
{%- set renamed = {'time_spent': 'time_spent_minutes', 'correction': 'is_correction', 'deleted': 'is_deleted'} %}
with copies as (
    select *
    from {{ ref('stg_xurrent__time_entries_tmp') }}
    where is_kept_copy
),

final as (
    select
        {{ xurrent.staged_fields('time_entries', 'time_entry', renamed) }},
        {{ xurrent.removal_fields() }}
    from copies
    where coalesce(_fivetran_deleted, false)
)

select * from final
