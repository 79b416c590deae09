{#- Seeds go to the schema their config names (xurrent_directory, xurrent_support) as is, like
    the connections' schemas they stand for; everything else to the target's schema. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {{ custom_schema_name if custom_schema_name else target.schema }}
{%- endmacro %}
