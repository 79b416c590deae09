-- Live sites, one row per (owning account, id), typed, from
-- every connection: every column of columns.sql, the id as site_id.
{%- set renamed = {'disabled': 'is_disabled'} %}
with copies as (
    select *
    from {{ ref('stg_xurrent__sites_tmp') }}
    where is_kept_copy
),

final as (
    select
        {{ xurrent.staged_fields('sites', 'site', renamed) }}
    from copies
    where {{ xurrent.is_live() }}
)

{{ xurrent.select_with_custom_fields('final', 'site_key', 'sites') }}
