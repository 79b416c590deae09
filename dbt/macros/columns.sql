{#- Every column the package reads, per connector table, with its type key (types.sql).
    A column a table lacks (an older or newer connector version) is read as a typed NULL, so
    the same models run on today's tables and on the redesigned connector's. -#}

{%- macro _fivetran_columns() -%}
  {{ return([['_fivetran_synced', 'timestamp'], ['_fivetran_deleted', 'boolean']]) }}
{%- endmacro -%}

{%- macro organizations_columns() -%}
  {%- set columns = [
    ['id', 'bigint'], ['account_id', 'string'], ['node_id', 'string'],
    ['source_id', 'string'], ['source', 'string'], ['name', 'string'],
    ['parent_id', 'bigint'], ['parent_name', 'string'],
    ['manager_id', 'bigint'], ['manager_name', 'string'],
    ['substitute_id', 'bigint'], ['substitute_name', 'string'],
    ['business_unit', 'boolean'],
    ['business_unit_organization_id', 'bigint'], ['business_unit_organization_name', 'string'],
    ['region', 'string'], ['financial_id', 'string'], ['disabled', 'boolean'],
    ['end_user_privacy', 'boolean'],
    ['order_template_id', 'bigint'], ['order_template_name', 'string'],
    ['picture_uri', 'string'], ['remarks', 'string'],
    ['custom_fields', 'json'], ['addresses', 'json'], ['contacts', 'json'],
    ['attachments', 'json'],
    ['ui_extension_id', 'bigint'], ['ui_extension_name', 'string'],
    ['created_at', 'timestamp'], ['updated_at', 'timestamp'],
  ] -%}
  {{ return(columns + xurrent._fivetran_columns()) }}
{%- endmacro -%}

{%- macro products_columns() -%}
  {%- set columns = [
    ['id', 'bigint'], ['account_id', 'string'], ['node_id', 'string'],
    ['source_id', 'string'], ['source', 'string'], ['name', 'string'],
    ['category', 'string'], ['brand', 'string'], ['model', 'string'],
    ['product_id', 'string'],
    ['service_id', 'bigint'], ['service_name', 'string'],
    ['service_provider_id', 'bigint'], ['service_provider_name', 'string'],
    ['service_provider_account_id', 'string'],
    ['support_team_id', 'bigint'], ['support_team_name', 'string'],
    ['supplier_id', 'bigint'], ['supplier_name', 'string'],
    ['financial_owner_id', 'bigint'], ['financial_owner_name', 'string'],
    ['rule_set', 'string'], ['depreciation_method', 'string'],
    ['rate', 'bigint'], ['useful_life', 'bigint'],
    ['salvage_value', 'decimal'], ['salvage_value_currency', 'string'],
    ['disabled', 'boolean'], ['recurrence', 'json'],
    ['workflow_template_id', 'bigint'], ['workflow_template_name', 'string'],
    ['workflow_manager_id', 'bigint'], ['workflow_manager_name', 'string'],
    ['picture_uri', 'string'], ['remarks', 'string'], ['custom_fields', 'json'],
    ['ui_extension_id', 'bigint'], ['ui_extension_name', 'string'],
    ['attachments', 'json'],
    ['created_at', 'timestamp'], ['updated_at', 'timestamp'],
  ] -%}
  {{ return(columns + xurrent._fivetran_columns()) }}
{%- endmacro -%}

{%- macro projects_columns() -%}
  {%- set columns = [
    ['id', 'bigint'], ['account_id', 'string'], ['node_id', 'string'],
    ['source_id', 'string'], ['source', 'string'], ['subject', 'string'],
    ['category', 'string'], ['status', 'string'],
    ['manager_id', 'bigint'], ['manager_name', 'string'],
    ['customer_id', 'bigint'], ['customer_name', 'string'],
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
    ['created_at', 'timestamp'], ['updated_at', 'timestamp'],
    ['archived_at', 'timestamp'], ['trashed_at', 'timestamp'],
  ] -%}
  {{ return(columns + xurrent._fivetran_columns()) }}
{%- endmacro -%}

{%- macro sync_health_columns() -%}
  {%- set columns = [
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
    ['api_user_id', 'bigint'], ['api_user_name', 'string'], ['credentials', 'string'],
  ] -%}
  {{ return(columns + xurrent._fivetran_columns()) }}
{%- endmacro -%}

{%- macro table_columns(table) -%}
  {%- if table == 'organizations' -%}{{ return(xurrent.organizations_columns()) }}
  {%- elif table == 'products' -%}{{ return(xurrent.products_columns()) }}
  {%- elif table == 'projects' -%}{{ return(xurrent.projects_columns()) }}
  {%- elif table == 'sync_health' -%}{{ return(xurrent.sync_health_columns()) }}
  {%- else -%}{{ exceptions.raise_compiler_error("xurrent: no column list for " ~ table) }}
  {%- endif -%}
{%- endmacro -%}
