-- Live projects (neither archived nor trashed), one row per (owning account, id), typed.
with copies as (
    {{ xurrent.deduplicated('projects') }}
),

final as (
    select
        {{ xurrent.project_fields() }}
    from copies
    where {{ xurrent.is_live() }}
)

select * from final
