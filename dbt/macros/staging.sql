{#- The shared step of the staging models: stack every connection's rows, give each row its
    owning account (the row's account_id; the connection's account when the table has none)
    and keep one row per (account, id). An organization that several accounts' connections
    see (a directory account's, say) is then one row: the most recently updated copy, the
    most recently synced among equals. `account_key` falls back to source_relation when no
    account is known (tables of a connector version without account_id). -#}
{%- macro deduplicated(table) -%}
with unioned as (
  {{ xurrent.union_connections(table) }}
),

owned as (
    select
        *,
        coalesce(account_id, connection_account_id) as owning_account_id
    from unioned
),

ranked as (
    select
        *,
        row_number() over (
            partition by coalesce(owning_account_id, source_relation), id
            order by updated_at desc, _fivetran_synced desc, source_relation
        ) as copy_rank
    from owned
)

select *
from ranked
where copy_rank = 1
{%- endmacro -%}

{#- A stable text key '<account>:<id>' for unique tests and joins across accounts. A row
    without an id (never written by the connector, whose primary key it is) keys as
    '<account>:(none)', so the completeness test reports it instead of a failing key. -#}
{%- macro record_key(account_column, source_relation_column, id_column) -%}
  {{ dbt.concat(["coalesce(" ~ account_column ~ ", " ~ source_relation_column ~ ")", "':'",
                 "coalesce(" ~ dbt.cast(id_column, dbt.type_string()) ~ ", '(none)')"]) }}
{%- endmacro -%}

{%- macro is_live(deleted_column='_fivetran_deleted') -%}
  not coalesce({{ deleted_column }}, false)
{%- endmacro -%}


{#- The columns of both project staging models (live and removed). -#}
{%- macro project_fields() -%}
        {{ xurrent.record_key('owning_account_id', 'source_relation', 'id') }} as project_key,
        source_relation,
        owning_account_id as account_id,
        id as project_id,
        node_id,
        source_id,
        source,
        subject,
        category,
        status,
        manager_id,
        manager_name,
        customer_id,
        customer_name,
        service_id,
        service_name,
        service_provider_id,
        service_provider_name,
        service_provider_account_id,
        program,
        justification,
        risk_level,
        completion_reason,
        completion_target_at,
        completed_at,
        resolution_duration as resolution_duration_minutes,
        effort as effort_minutes,
        cost_of_effort,
        cost_of_purchases,
        value,
        total_cost,
        roi as roi_percent,
        value_currency,
        time_zone,
        work_hours_id,
        work_hours_name,
        custom_fields,
        ui_extension_id,
        ui_extension_name,
        attachments,
        created_at,
        updated_at,
        _fivetran_synced
{%- endmacro -%}
