-- The completeness figures the business asked for, exactly, over whole tables: per
-- connection, table and field, how many live rows have a value (not NULL, text not blank),
-- the share, the threshold and whether it is met. The xurrent_completeness tests fail on
-- the same figures.
{%- set checks = [
    ('organizations', 'stg_xurrent__organizations', 'organization_id', var('xurrent_completeness_organizations', 1.0)),
    ('organizations', 'stg_xurrent__organizations', 'name', var('xurrent_completeness_organizations', 1.0)),
    ('products', 'stg_xurrent__products', 'category', var('xurrent_completeness_products', 0.95)),
    ('products', 'stg_xurrent__products', 'brand', var('xurrent_completeness_products', 0.95)),
    ('projects', 'stg_xurrent__projects', 'status', var('xurrent_completeness_projects', 0.90)),
    ('projects', 'stg_xurrent__projects', 'customer_id', var('xurrent_completeness_projects', 0.90)),
] %}

with measured as (
    {%- for table_name, model, column, threshold in checks %}
    select
        source_relation,
        '{{ table_name }}' as table_name,
        '{{ column }}' as column_name,
        count(*) as row_count,
        sum(
            case
                when {{ column }} is null then 0
                when trim({{ dbt.cast(column, xurrent.type_text()) }}) = '' then 0
                else 1
            end
        ) as present_count,
        {{ dbt.cast(threshold, xurrent.type_double()) }} as threshold
    from {{ ref(model) }}
    group by source_relation
    {%- if not loop.last %}

    union all
    {%- endif %}
    {%- endfor %}
),

final as (
    select
        source_relation,
        table_name,
        column_name,
        row_count,
        present_count,
        row_count - present_count as missing_count,
        {{ dbt.cast('present_count', xurrent.type_double()) }} / row_count as present_share,
        threshold,
        present_count >= threshold * row_count as meets_threshold
    from measured
)

select * from final
