-- Live people (neither archived nor trashed), one row per (owning account, id), typed, from
-- every connection: every column of columns.sql, the id as person_id.
{%- set renamed = {'disabled': 'is_disabled', 'guest': 'is_guest', 'vip': 'is_vip'} %}
with copies as (
    select *
    from {{ ref('stg_xurrent__people_tmp') }}
    where is_kept_copy
),

final as (
    select
        {{ xurrent.staged_fields('people', 'person', renamed) }}
    from copies
    where {{ xurrent.is_live() }}
)

{{ xurrent.select_with_custom_fields('final', 'person_key', 'people') }}
