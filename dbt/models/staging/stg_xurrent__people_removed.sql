-- Archived and trashed people: the connector keeps them as soft-deleted rows with the
-- moment they entered the archive or the trash.
{%- set renamed = {'disabled': 'is_disabled', 'guest': 'is_guest', 'vip': 'is_vip'} %}
with copies as (
    select *
    from {{ ref('stg_xurrent__people_tmp') }}
    where is_kept_copy
),

final as (
    select
        {{ xurrent.staged_fields('people', 'person', renamed) }},
        {{ xurrent.removal_fields() }}
    from copies
    where coalesce(_fivetran_deleted, false)
)

{{ xurrent.select_with_custom_fields('final', 'person_key', 'people') }}
