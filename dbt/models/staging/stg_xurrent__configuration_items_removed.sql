-- Archived and trashed configuration items: the connector keeps them as soft-deleted rows with the
-- moment they entered the archive or the trash.
{%- set renamed = {'software': 'is_software'} %}
with copies as (
    select *
    from {{ ref('stg_xurrent__configuration_items_tmp') }}
    where is_kept_copy
),

final as (
    select
        {{ xurrent.staged_fields('configuration_items', 'configuration_item', renamed) }},
        {{ xurrent.removal_fields() }}
    from copies
    where coalesce(_fivetran_deleted, false)
)

{{ xurrent.select_with_custom_fields('final', 'configuration_item_key', 'configuration_items') }}
