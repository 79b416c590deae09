-- Live service instances, one row per (owning account, id), typed, from
-- every connection: every column of columns.sql, the id as service_instance_id.
with copies as (
    select *
    from {{ ref('stg_xurrent__service_instances_tmp') }}
    where is_kept_copy
),

final as (
    select
        {{ xurrent.staged_fields('service_instances', 'service_instance') }}
    from copies
    where {{ xurrent.is_live() }}
)

{{ xurrent.select_with_custom_fields('final', 'service_instance_key', 'service_instances') }}
