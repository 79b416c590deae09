-- Live configuration items (neither archived nor trashed), one row per (owning account, id), typed, from
-- every connection: every column of columns.sql, the id as configuration_item_id.
{%- set renamed = {'software': 'is_software'} %}
with copies as (
    select *
    from {{ ref('stg_xurrent__configuration_items_tmp') }}
    where is_kept_copy
),

final as (
    select
        {{ xurrent.staged_fields('configuration_items', 'configuration_item', renamed) }}
    from copies
    where {{ xurrent.is_live() }}
)

{{ xurrent.select_with_custom_fields('final', 'configuration_item_key', 'configuration_items') }}
