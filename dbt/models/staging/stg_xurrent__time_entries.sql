-- Live time entries (neither deleted, archived nor trashed), one row per (owning account, id), typed, from
-- every connection: every column of columns.sql, the id as time_entry_id.
{%- set renamed = {'time_spent': 'time_spent_minutes', 'correction': 'is_correction', 'deleted': 'is_deleted'} %}
with copies as (
    select *
    from {{ ref('stg_xurrent__time_entries_tmp') }}
    where is_kept_copy
),

final as (
    select
        {{ xurrent.staged_fields('time_entries', 'time_entry', renamed) }}
    from copies
    where {{ xurrent.is_live() }}
)

select * from final
