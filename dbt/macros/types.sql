{#- Column types the package casts to, and the few expressions whose SQL differs between
    warehouses. dbt's cross-database macros where they are right; otherwise the package's own,
    dispatched (adapter.dispatch) so that a project can override them. -#}

{#- Text of any length. dbt.type_string() is VARCHAR(256) on Redshift, too short for names,
    remarks, error texts and the hierarchy's paths. -#}
{%- macro type_text() -%}
  {{ return(adapter.dispatch('type_text', 'xurrent')()) }}
{%- endmacro -%}

{%- macro default__type_text() -%}{{ dbt.type_string() }}{%- endmacro -%}
{%- macro redshift__type_text() -%}varchar(65535){%- endmacro -%}

{%- macro type_timestamp_tz() -%}
  {{ return(adapter.dispatch('type_timestamp_tz', 'xurrent')()) }}
{%- endmacro -%}

{%- macro default__type_timestamp_tz() -%}timestamp with time zone{%- endmacro -%}
{%- macro snowflake__type_timestamp_tz() -%}timestamp_tz{%- endmacro -%}
{%- macro bigquery__type_timestamp_tz() -%}timestamp{%- endmacro -%}

{%- macro type_double() -%}
  {{ return(adapter.dispatch('type_double', 'xurrent')()) }}
{%- endmacro -%}

{%- macro default__type_double() -%}{{ dbt.type_float() }}{%- endmacro -%}
{#- DuckDB's "float" is 4 bytes; the connector's DOUBLE needs 8. -#}
{%- macro duckdb__type_double() -%}double{%- endmacro -%}
{%- macro postgres__type_double() -%}double precision{%- endmacro -%}

{%- macro type_decimal() -%}
  {{ return(adapter.dispatch('type_decimal', 'xurrent')()) }}
{%- endmacro -%}

{%- macro default__type_decimal() -%}numeric(38, 10){%- endmacro -%}
{%- macro bigquery__type_decimal() -%}bignumeric{%- endmacro -%}

{#- The JSON type of each warehouse. -#}
{%- macro type_json() -%}
  {{ return(adapter.dispatch('type_json', 'xurrent')()) }}
{%- endmacro -%}

{%- macro default__type_json() -%}{{ xurrent.type_text() }}{%- endmacro -%}
{%- macro duckdb__type_json() -%}json{%- endmacro -%}
{%- macro postgres__type_json() -%}jsonb{%- endmacro -%}
{%- macro snowflake__type_json() -%}variant{%- endmacro -%}
{%- macro bigquery__type_json() -%}json{%- endmacro -%}
{%- macro redshift__type_json() -%}super{%- endmacro -%}

{#- A JSON column as the warehouse's JSON type, whether the destination stored it as JSON or
    as text (destinations and connector versions differ), so that connections stack. -#}
{%- macro as_json(expression, stored_as_text) -%}
  {{ return(adapter.dispatch('as_json', 'xurrent')(expression, stored_as_text)) }}
{%- endmacro -%}

{%- macro default__as_json(expression, stored_as_text) -%}
  cast({{ expression }} as {{ xurrent.type_json() }})
{%- endmacro -%}
{%- macro snowflake__as_json(expression, stored_as_text) -%}
  {%- if stored_as_text -%}parse_json({{ expression }}){%- else -%}{{ expression }}{%- endif -%}
{%- endmacro -%}
{%- macro bigquery__as_json(expression, stored_as_text) -%}
  {%- if stored_as_text -%}safe.parse_json({{ expression }}){%- else -%}{{ expression }}{%- endif -%}
{%- endmacro -%}
{%- macro redshift__as_json(expression, stored_as_text) -%}
  {%- if stored_as_text -%}json_parse({{ expression }}){%- else -%}{{ expression }}{%- endif -%}
{%- endmacro -%}

{#- A timestamp moved by a number of dateparts, still a timestamp. On BigQuery dbt.dateadd
    returns a DATETIME, which cannot be compared with a TIMESTAMP column. -#}
{%- macro timestamp_add(datepart, interval, timestamp) -%}
  {{ return(adapter.dispatch('timestamp_add', 'xurrent')(datepart, interval, timestamp)) }}
{%- endmacro -%}

{%- macro default__timestamp_add(datepart, interval, timestamp) -%}
  {{ dbt.dateadd(datepart, interval, timestamp) }}
{%- endmacro -%}
{%- macro bigquery__timestamp_add(datepart, interval, timestamp) -%}
  timestamp_add({{ timestamp }}, interval ({{ interval }}) {{ datepart }})
{%- endmacro -%}

{#- The first moment after a date (its midnight at the end), comparable with the snapshot's
    timestamps: dbt.dateadd elsewhere; a TIMESTAMP on BigQuery. -#}
{%- macro day_after(date) -%}
  {{ return(adapter.dispatch('day_after', 'xurrent')(date)) }}
{%- endmacro -%}

{%- macro default__day_after(date) -%}{{ dbt.dateadd('day', 1, date) }}{%- endmacro -%}
{%- macro bigquery__day_after(date) -%}timestamp(date_add({{ date }}, interval 1 day)){%- endmacro -%}

{#- The column list of a recursive CTE: Redshift requires one; BigQuery accepts none. -#}
{%- macro recursive_cte_columns(columns) -%}
  {{ return(adapter.dispatch('recursive_cte_columns', 'xurrent')(columns)) }}
{%- endmacro -%}

{%- macro default__recursive_cte_columns(columns) -%}({{ columns | join(', ') }}){%- endmacro -%}
{%- macro bigquery__recursive_cte_columns(columns) -%}{%- endmacro -%}

{#- The SQL type of one of the package's type keys (see columns.sql). -#}
{%- macro sql_type(key) -%}
  {%- if key == 'bigint' -%}{{ dbt.type_bigint() }}
  {%- elif key == 'string' -%}{{ xurrent.type_text() }}
  {%- elif key == 'boolean' -%}{{ dbt.type_boolean() }}
  {%- elif key == 'timestamp' -%}{{ xurrent.type_timestamp_tz() }}
  {%- elif key == 'date' -%}date
  {%- elif key == 'decimal' -%}{{ xurrent.type_decimal() }}
  {%- elif key == 'double' -%}{{ xurrent.type_double() }}
  {%- elif key == 'json' -%}{{ xurrent.type_json() }}
  {%- else -%}{{ exceptions.raise_compiler_error("xurrent: unknown column type key " ~ key) }}
  {%- endif -%}
{%- endmacro -%}
