-- Live teams, one row per (owning account, id), typed, from
-- every connection: every column of columns.sql, the id as team_id.
{%- set renamed = {'disabled': 'is_disabled'} %}
with copies as (
    select *
    from {{ ref('stg_xurrent__teams_tmp') }}
    where is_kept_copy
),

final as (
    select
        {{ xurrent.staged_fields('teams', 'team', renamed) }}
    from copies
    where {{ xurrent.is_live() }}
)

{{ xurrent.select_with_custom_fields('final', 'team_key', 'teams') }}
