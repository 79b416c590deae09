{#- The body of a stg_xurrent__<table>_tmp model: every connection's rows of the table
    (union_connections), each with its owning account (the row's account_id; the connection's
    account when the table has none) and is_kept_copy, true for the one copy per (account, id)
    the staging model keeps. An organization that several accounts' connections see (a
    directory account's, say) is kept once: the most recently updated copy, then the most
    recently synced, then the first connection by name. NULLs sort last everywhere: warehouses
    disagree on where a bare `desc` puts them, and the kept row must not depend on that. -#}
{%- macro stage_table(table) -%}
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
            order by
                updated_at desc nulls last,
                _fivetran_synced desc nulls last,
                source_relation
        ) as copy_rank
    from owned
)

select
    *,
    -- A row without an id matches no other copy: it is kept, and its key's test reports it.
    copy_rank = 1 or id is null as is_kept_copy
from ranked
{%- endmacro -%}

{#- A stable text key '<account>:<id>' for joins across accounts (the account falls back to
    source_relation when unknown); NULL when the row has no id, so that the key's not_null
    test fails on such a row. -#}
{%- macro record_key(account_column, source_relation_column, id_column) -%}
  case
      when {{ id_column }} is not null
          then {{ dbt.concat(["coalesce(" ~ account_column ~ ", " ~ source_relation_column ~ ")",
                              "':'", dbt.cast(id_column, xurrent.type_text())]) }}
  end
{%- endmacro -%}

{%- macro is_live(deleted_column='_fivetran_deleted') -%}
  not coalesce({{ deleted_column }}, false)
{%- endmacro -%}

{#- The columns of a staging model read from stg_xurrent__<table>_tmp: the key
    '<account>:<id>' as <entity>_key, source_relation, the owning account as account_id, the
    record's id as <entity>_id, then every other column of columns.sql in its order, renamed
    where `renamed` says so (flags as is_..., durations with their unit). The lifecycle columns
    (_fivetran_deleted, archived_at, trashed_at) are left out: a live model has no removed row,
    and a removed model adds them with removal_fields(). -#}
{%- macro staged_fields(table, entity, renamed={}) -%}
  {%- set left_out = ['id', 'account_id', '_fivetran_deleted', 'archived_at', 'trashed_at'] %}
        {{ xurrent.record_key('owning_account_id', 'source_relation', 'id') }} as {{ entity }}_key,
        source_relation,
        owning_account_id as account_id,
        id as {{ entity }}_id
  {%- for column in xurrent.table_columns(table) %}
    {%- set name = column[2] if column | length > 2 else column[0] %}
    {%- if name not in left_out -%}
        ,
        {{ name }}{{ ' as ' ~ renamed[name] if name in renamed }}
    {%- endif %}
  {%- endfor %}
{%- endmacro -%}

{#- The columns a removed model adds: when the record moved to the archive or the trash, and
    how it was removed ('deleted' when neither moment is known: a time entry whose `deleted`
    field is true, or a row whose bin entry was never read). -#}
{%- macro removal_fields() -%}
        archived_at,
        trashed_at,
        case
            when trashed_at is not null then 'trashed'
            when archived_at is not null then 'archived'
            else 'deleted'
        end as removal_state,
        coalesce(trashed_at, archived_at) as removed_at
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
        manager_account_id,
        customer_id,
        customer_name,
        customer_account_id,
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
