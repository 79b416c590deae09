{#- Custom fields as columns: xurrent_<table>_pass_through_columns lists custom field ids
    (Xurrent keeps custom fields as a JSON array of {"id": ..., "value": ...}), each a string
    or {name: <id>, alias: <column>}; every listed field becomes a text column of the staging
    model (NULL where a record does not have it). -#}

{%- macro pass_through_fields(table) -%}
  {%- set fields = [] -%}
  {%- for entry in var('xurrent_' ~ table ~ '_pass_through_columns', []) or [] -%}
    {%- set field_id = (entry if entry is string else entry.get('name')) or '' -%}
    {%- set alias = ((entry.get('alias') if entry is mapping else none) or field_id)
        | replace('.', '_') | replace('-', '_') | lower -%}
    {#- Both end up in SQL: the id in a string literal, the alias as a column name. -#}
    {%- if not modules.re.fullmatch('[A-Za-z0-9_.-]+', field_id)
          or not modules.re.fullmatch('[a-z_][a-z0-9_]*', alias) -%}
      {{ exceptions.raise_compiler_error("xurrent_" ~ table ~ "_pass_through_columns: "
          ~ entry ~ " is not a custom field id (letters, digits, _ . -) with a column name") }}
    {%- endif -%}
    {%- do fields.append({'id': field_id, 'alias': alias}) -%}
  {%- endfor -%}
  {{ return(fields) }}
{%- endmacro -%}

{#- The final select of a staging model: `relation`'s rows, plus a column per listed custom
    field, read from its custom_fields and joined back by the model's key. -#}
{%- macro select_with_custom_fields(relation, key_column, table) -%}
  {%- set fields = xurrent.pass_through_fields(table) -%}
  {%- if fields | length == 0 %}
select * from {{ relation }}
  {%- else %}
, custom_field_values as (
    {{ xurrent.custom_field_rows(relation, key_column, 'custom_fields') }}
),

custom_field_columns as (
    select
        record_key,
        {%- for field in fields %}
        max(case when field_id = '{{ field.id }}' then field_value end) as {{ field.alias }}
        {{- ',' if not loop.last }}
        {%- endfor %}
    from custom_field_values
    group by record_key
)

select
    {{ relation }}.*,
    {%- for field in fields %}
    custom_field_columns.{{ field.alias }}{{ ',' if not loop.last }}
    {%- endfor %}
from {{ relation }}
left join custom_field_columns
    on custom_field_columns.record_key = {{ relation }}.{{ key_column }}
  {%- endif %}
{%- endmacro -%}

{#- One row per (record, custom field): record_key, field_id, field_value (as text). How a
    JSON array is unnested is each warehouse's own. -#}
{%- macro custom_field_rows(relation, key_column, json_column) -%}
  {{ return(adapter.dispatch('custom_field_rows', 'xurrent')(relation, key_column, json_column)) }}
{%- endmacro -%}

{%- macro duckdb__custom_field_rows(relation, key_column, json_column) -%}
    select
        records.{{ key_column }} as record_key,
        fields.field ->> 'id' as field_id,
        fields.field ->> 'value' as field_value
    from {{ relation }} as records,
        unnest(json_extract(records.{{ json_column }}, '$[*]')) as fields (field)
{%- endmacro -%}

{%- macro postgres__custom_field_rows(relation, key_column, json_column) -%}
    select
        records.{{ key_column }} as record_key,
        fields.field ->> 'id' as field_id,
        fields.field ->> 'value' as field_value
    from {{ relation }} as records
    cross join lateral jsonb_array_elements(
        case
            when jsonb_typeof(records.{{ json_column }}) = 'array' then records.{{ json_column }}
            else cast('[]' as jsonb)
        end
    ) as fields (field)
{%- endmacro -%}

{%- macro snowflake__custom_field_rows(relation, key_column, json_column) -%}
    select
        records.{{ key_column }} as record_key,
        fields.value:id::varchar as field_id,
        fields.value:value::varchar as field_value
    from {{ relation }} as records,
        lateral flatten(input => records.{{ json_column }}) as fields
{%- endmacro -%}

{%- macro bigquery__custom_field_rows(relation, key_column, json_column) -%}
    select
        records.{{ key_column }} as record_key,
        json_value(field, '$.id') as field_id,
        json_value(field, '$.value') as field_value
    from {{ relation }} as records
    cross join unnest(json_query_array(records.{{ json_column }})) as field
{%- endmacro -%}

{#- Redshift: custom_fields is SUPER, unnested by PartiQL's FROM navigation. -#}
{%- macro redshift__custom_field_rows(relation, key_column, json_column) -%}
    select
        records.{{ key_column }} as record_key,
        cast(fields.id as {{ xurrent.type_text() }}) as field_id,
        cast(fields.value as {{ xurrent.type_text() }}) as field_value
    from {{ relation }} as records, records.{{ json_column }} as fields
{%- endmacro -%}
