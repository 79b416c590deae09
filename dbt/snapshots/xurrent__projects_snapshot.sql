{#- The history of each project's status, lifecycle (live, archived, trashed) and completion
    target, which the connector cannot keep (the Connector SDK has no history mode). Every
    `dbt build` (or `dbt snapshot`) records the changes since the last one; dbt_valid_from and
    dbt_valid_to then tell which status a project had on any day since the first run
    (xurrent__project_status_daily, xurrent__project_status_history). -#}
{% snapshot xurrent__projects_snapshot %}

{{
    config(
        unique_key='project_key',
        strategy='check',
        check_cols=['status', 'lifecycle_state', 'completion_target_at'],
        hard_deletes='invalidate',
    )
}}

with live as (
    select
        project_key,
        source_relation,
        account_id,
        project_id,
        status,
        'live' as lifecycle_state,
        customer_id,
        completion_target_at,
        created_at,
        updated_at
    from {{ ref('stg_xurrent__projects') }}
),

removed as (
    select
        project_key,
        source_relation,
        account_id,
        project_id,
        status,
        removal_state as lifecycle_state,
        customer_id,
        completion_target_at,
        created_at,
        updated_at
    from {{ ref('stg_xurrent__projects_removed') }}
)

select * from live
union all
select * from removed

{% endsnapshot %}
