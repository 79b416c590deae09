{#- Reading the connector's tables from one or several connections.

    One connection: the `xurrent` source (xurrent_database / xurrent_schema). Several: the
    xurrent_connections variable, a list of {schema, database (optional), account_id
    (optional)}; each table is read from every connection that has it and the results are
    stacked, every row tagged with `source_relation` ("database.schema"). -#}

{%- macro connections() -%}
  {%- set listed = var('xurrent_connections', []) or [] -%}
  {%- set result = [] -%}
  {%- if listed | length == 0 -%}
    {%- set default = source('xurrent', 'organizations') -%}
    {%- do result.append({
      'database': default.database,
      'schema': default.schema,
      'account_id': var('xurrent_account_id', none),
    }) -%}
  {%- else -%}
    {%- for entry in listed -%}
      {%- if entry is string -%}
        {%- set parts = entry.split('.') -%}
        {%- set entry = {'schema': parts[-1], 'database': parts[0] if parts | length > 1 else none} -%}
      {%- endif -%}
      {%- if not entry.get('schema') -%}
        {{ exceptions.raise_compiler_error("xurrent_connections: every entry needs a schema, got " ~ entry) }}
      {%- endif -%}
      {%- do result.append({
        'database': entry.get('database') or target.database,
        'schema': entry['schema'],
        'account_id': entry.get('account_id'),
      }) -%}
    {%- endfor -%}
  {%- endif -%}
  {{ return(result) }}
{%- endmacro -%}

{%- macro connection_relation(connection, table) -%}
  {%- set identifier = var('xurrent_' ~ table ~ '_identifier', table) -%}
  {{ return(adapter.get_relation(
      database=connection['database'], schema=connection['schema'], identifier=identifier)) }}
{%- endmacro -%}

{#- {lower-case column name: column} of a relation (Snowflake reports upper case). -#}
{%- macro columns_by_name(relation) -%}
  {%- set found = {} -%}
  {%- for column in adapter.get_columns_in_relation(relation) -%}
    {%- do found.update({column.name | lower: column}) -%}
  {%- endfor -%}
  {{ return(found) }}
{%- endmacro -%}

{#- The account a connection is configured for, as SQL: the connection's account_id entry,
    else what its sync_health rows say (the redesigned connector writes account_id there),
    else NULL. -#}
{%- macro configured_account(connection) -%}
  {%- if connection['account_id'] -%}
    {{ return("cast('" ~ connection['account_id'] ~ "' as " ~ xurrent.type_text() ~ ")") }}
  {%- endif -%}
  {%- set health = xurrent.connection_relation(connection, 'sync_health') -%}
  {%- if health is not none and 'account_id' in xurrent.columns_by_name(health) -%}
    {{ return("(select max(account_id) from " ~ health ~ ")") }}
  {%- endif -%}
  {{ return("cast(null as " ~ xurrent.type_text() ~ ")") }}
{%- endmacro -%}

{#- One SELECT per connection that has the table: every column of columns.sql, typed, a
    missing one as a typed NULL; plus source_relation and connection_account_id. -#}
{%- macro union_connections(table) -%}
  {%- set columns = xurrent.table_columns(table) -%}
  {#- Lineage: the model depends on the source table even when it reads several schemas. -#}
  -- depends_on: {{ source('xurrent', table) }}
  {%- set selects = [] -%}
  {%- set searched = [] -%}
  {%- if execute -%}
    {%- for connection in xurrent.connections() -%}
      {%- set relation = xurrent.connection_relation(connection, table) -%}
      {%- do searched.append(connection['database'] ~ '.' ~ connection['schema']) -%}
      {%- if relation is not none -%}
        {%- do selects.append(xurrent._select_typed(
            relation, columns, connection['database'] ~ '.' ~ connection['schema'],
            xurrent.configured_account(connection))) -%}
      {%- elif xurrent.connections() | length > 1 -%}
        {%- do exceptions.warn("xurrent: no table " ~ table ~ " in " ~ searched[-1]
            ~ "; that connection is skipped for " ~ table ~ ".") -%}
      {%- endif -%}
    {%- endfor -%}
    {%- if selects | length == 0 -%}
      {%- do exceptions.warn("xurrent: no table " ~ table ~ " in " ~ searched | join(', ')
          ~ "; the models built on it are empty. Set xurrent_schema / xurrent_database or "
          ~ "xurrent_connections.") -%}
    {%- endif -%}
  {%- endif -%}
  {%- if selects | length == 0 -%}
    {%- do selects.append(xurrent._select_typed(none, columns, '', 'cast(null as ' ~ xurrent.type_text() ~ ')')) -%}
  {%- endif %}
  {{ selects | join('\n    union all\n') }}
{%- endmacro -%}

{%- macro _select_typed(relation, columns, source_relation, account_sql) -%}
  {%- set present = xurrent.columns_by_name(relation) if relation is not none else {} -%}
    select
      {%- for column in columns %}
      {%- set name, key, alias = column[0], column[1], column[2] if column | length > 2 else column[0] %}
      {%- if name in present and key == 'json' %}
      {{ xurrent.as_json(adapter.quote(present[name].name), present[name].is_string()) }} as {{ alias }},
      {%- elif name in present %}
      cast({{ adapter.quote(present[name].name) }} as {{ xurrent.sql_type(key) }}) as {{ alias }},
      {%- else %}
      cast(null as {{ xurrent.sql_type(key) }}) as {{ alias }},
      {%- endif %}
      {%- endfor %}
      cast('{{ source_relation }}' as {{ xurrent.type_text() }}) as source_relation,
      {{ account_sql }} as connection_account_id
    {%- if relation is not none %}
    from {{ relation }}
    {%- else %}
    from (select 1 as placeholder) as no_table
    where 1 = 0
    {%- endif %}
{%- endmacro -%}

{#- Source freshness over every connection (the source's loaded_at_query): the oldest of the
    connections' latest _fivetran_synced, so that one stale connection makes the table stale.
    xurrent__sync_freshness says which connection it is. -#}
{%- macro stalest_connection_synced_at(table) -%}
  {%- set selects = [] -%}
  {%- for connection in xurrent.connections() -%}
    {%- set relation = xurrent.connection_relation(connection, table) -%}
    {%- if relation is not none -%}
      {%- do selects.append('select max(_fivetran_synced) as synced_at from ' ~ relation) -%}
    {%- endif -%}
  {%- endfor -%}
  {%- if selects | length == 0 -%}
    select cast(null as {{ xurrent.type_timestamp_tz() }}) as synced_at
  {%- else -%}
    select min(synced_at) as synced_at from ({{ selects | join(' union all ') }}) as connections
  {%- endif -%}
{%- endmacro -%}
