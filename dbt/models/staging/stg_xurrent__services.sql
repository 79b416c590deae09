-- Live services, one row per (owning account, id), typed, from
-- every connection: every column of columns.sql, the id as service_id.
{%- set renamed = {'disabled': 'is_disabled'} %}
with copies as (
    select *
    from {{ ref('stg_xurrent__services_tmp') }}
    where is_kept_copy
),

final as (
    select
        {{ xurrent.staged_fields('services', 'service', renamed) }}
    from copies
    where {{ xurrent.is_live() }}
)

{{ xurrent.select_with_custom_fields('final', 'service_key', 'services') }}
