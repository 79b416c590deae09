{#- Every column the package reads, per connector table: [name, type key (types.sql)], and
    optionally a third element, the name the column gets in the package, for a source column
    named like a reserved word of some warehouse (sync_health's credentials: Redshift). A
    column a table lacks (an older or newer connector version) is read as a typed NULL, so the
    same models run on the tables of every connector version.

    Adding a table (people, teams, ...) is one entry here plus a thin staging model (see
    README.md, "Adding a table"). -#}

{%- macro source_columns() -%}
  {%- set fivetran = [['_fivetran_synced', 'timestamp'], ['_fivetran_deleted', 'boolean']] -%}
  {%- set head = [
    ['id', 'bigint'], ['account_id', 'string'], ['node_id', 'string'],
    ['source_id', 'string'], ['source', 'string'],
  ] -%}
  {%- set times = [['created_at', 'timestamp'], ['updated_at', 'timestamp']] -%}
  {{ return({
    'organizations': head + [
      ['name', 'string'],
      ['parent_id', 'bigint'], ['parent_name', 'string'], ['parent_account_id', 'string'],
      ['manager_id', 'bigint'], ['manager_name', 'string'],
      ['substitute_id', 'bigint'], ['substitute_name', 'string'],
      ['business_unit', 'boolean'],
      ['business_unit_organization_id', 'bigint'], ['business_unit_organization_name', 'string'],
      ['business_unit_organization_account_id', 'string'],
      ['region', 'string'], ['financial_id', 'string'], ['disabled', 'boolean'],
      ['end_user_privacy', 'boolean'],
      ['order_template_id', 'bigint'], ['order_template_name', 'string'],
      ['picture_uri', 'string'], ['remarks', 'string'],
      ['custom_fields', 'json'], ['addresses', 'json'], ['contacts', 'json'],
      ['attachments', 'json'],
      ['ui_extension_id', 'bigint'], ['ui_extension_name', 'string'],
    ] + times + fivetran,
    'products': head + [
      ['name', 'string'], ['category', 'string'], ['brand', 'string'], ['model', 'string'],
      ['product_id', 'string'],
      ['service_id', 'bigint'], ['service_name', 'string'],
      ['service_provider_id', 'bigint'], ['service_provider_name', 'string'],
      ['service_provider_account_id', 'string'],
      ['support_team_id', 'bigint'], ['support_team_name', 'string'],
      ['supplier_id', 'bigint'], ['supplier_name', 'string'], ['supplier_account_id', 'string'],
      ['financial_owner_id', 'bigint'], ['financial_owner_name', 'string'],
      ['financial_owner_account_id', 'string'],
      ['rule_set', 'string'], ['depreciation_method', 'string'],
      ['rate', 'bigint'], ['useful_life', 'bigint'],
      ['salvage_value', 'decimal'], ['salvage_value_currency', 'string'],
      ['disabled', 'boolean'], ['recurrence', 'json'],
      ['workflow_template_id', 'bigint'], ['workflow_template_name', 'string'],
      ['workflow_manager_id', 'bigint'], ['workflow_manager_name', 'string'],
      ['picture_uri', 'string'], ['remarks', 'string'], ['custom_fields', 'json'],
      ['ui_extension_id', 'bigint'], ['ui_extension_name', 'string'],
      ['attachments', 'json'],
    ] + times + fivetran,
    'projects': head + [
      ['subject', 'string'], ['category', 'string'], ['status', 'string'],
      ['manager_id', 'bigint'], ['manager_name', 'string'],
      ['customer_id', 'bigint'], ['customer_name', 'string'], ['customer_account_id', 'string'],
      ['service_id', 'bigint'], ['service_name', 'string'],
      ['service_provider_id', 'bigint'], ['service_provider_name', 'string'],
      ['service_provider_account_id', 'string'],
      ['program', 'string'], ['justification', 'string'], ['risk_level', 'string'],
      ['completion_reason', 'string'],
      ['completion_target_at', 'timestamp'], ['completed_at', 'timestamp'],
      ['resolution_duration', 'bigint'], ['effort', 'bigint'],
      ['cost_of_effort', 'decimal'], ['cost_of_purchases', 'decimal'],
      ['value', 'decimal'], ['total_cost', 'decimal'], ['roi', 'bigint'],
      ['value_currency', 'string'], ['time_zone', 'string'],
      ['work_hours_id', 'bigint'], ['work_hours_name', 'string'],
      ['custom_fields', 'json'],
      ['ui_extension_id', 'bigint'], ['ui_extension_name', 'string'],
      ['attachments', 'json'],
    ] + times + [['archived_at', 'timestamp'], ['trashed_at', 'timestamp']] + fivetran,
    'sync_health': [
      ['sync_id', 'string'], ['table_name', 'string'], ['status', 'string'],
      ['error', 'string'],
      ['sync_started_at', 'timestamp'], ['started_at', 'timestamp'],
      ['finished_at', 'timestamp'], ['duration_seconds', 'double'],
      ['rows_upserted', 'bigint'], ['rows_deleted', 'bigint'],
      ['pages', 'bigint'], ['requests', 'bigint'], ['retries', 'bigint'],
      ['throttled_429', 'bigint'], ['failed_requests', 'bigint'],
      ['error_rate', 'double'], ['errors_by_kind', 'json'],
      ['mean_response_ms', 'double'], ['p_95_response_ms', 'double'],
      ['ratelimit_limit', 'bigint'], ['ratelimit_remaining', 'bigint'],
      ['cursor_reached', 'timestamp'], ['api_host', 'string'], ['account_id', 'string'],
      ['api_user_id', 'bigint'], ['api_user_name', 'string'],
      ['credentials', 'string', 'credentials_used'],
    ] + fivetran,
  }) }}
{%- endmacro -%}

{%- macro table_columns(table) -%}
  {%- set declared = xurrent.source_columns() -%}
  {%- if table not in declared -%}
    {{ exceptions.raise_compiler_error("xurrent: no column list for " ~ table ~ " in columns.sql") }}
  {%- endif -%}
  {{ return(declared[table]) }}
{%- endmacro -%}
