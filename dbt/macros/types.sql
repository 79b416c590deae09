{#- Column types the package casts to. dbt's cross-database type macros where they fit; the
    rest dispatch per adapter so a project can override them (adapter.dispatch). -#}

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

{#- JSON columns are passed through as the destination stored them; this type is only used
    for the typed NULL of a column a table does not have. -#}
{%- macro type_json() -%}
  {{ return(adapter.dispatch('type_json', 'xurrent')()) }}
{%- endmacro -%}

{%- macro default__type_json() -%}{{ dbt.type_string() }}{%- endmacro -%}
{%- macro duckdb__type_json() -%}json{%- endmacro -%}
{%- macro postgres__type_json() -%}jsonb{%- endmacro -%}
{%- macro snowflake__type_json() -%}variant{%- endmacro -%}
{%- macro bigquery__type_json() -%}json{%- endmacro -%}
{%- macro redshift__type_json() -%}super{%- endmacro -%}

{#- The SQL type of one of the package's type keys (see columns.sql). -#}
{%- macro sql_type(key) -%}
  {%- if key == 'bigint' -%}{{ dbt.type_bigint() }}
  {%- elif key == 'string' -%}{{ dbt.type_string() }}
  {%- elif key == 'boolean' -%}{{ dbt.type_boolean() }}
  {%- elif key == 'timestamp' -%}{{ xurrent.type_timestamp_tz() }}
  {%- elif key == 'decimal' -%}{{ xurrent.type_decimal() }}
  {%- elif key == 'double' -%}{{ xurrent.type_double() }}
  {%- elif key == 'json' -%}{{ xurrent.type_json() }}
  {%- else -%}{{ exceptions.raise_compiler_error("xurrent: unknown column type key " ~ key) }}
  {%- endif -%}
{%- endmacro -%}
