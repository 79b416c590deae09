{#- Completeness: at least `threshold` (a share, 0.95 = 95 %) of the model's rows have a
    value in the column (not NULL, and for text not blank), per connection (source_relation).
    Returns one row per connection below the threshold; the failure count in dbt's message
    is the number of rows without a value there. -#}
{% test xurrent_completeness(model, column_name, threshold) %}
{{ config(fail_calc='coalesce(sum(missing_count), 0)') }}

with measured as (
    select
        source_relation,
        count(*) as row_count,
        sum(
            case
                when {{ column_name }} is null then 0
                when trim({{ dbt.cast(column_name, xurrent.type_text()) }}) = '' then 0
                else 1
            end
        ) as present_count
    from {{ model }}
    group by source_relation
),

shortfalls as (
    select
        source_relation,
        '{{ column_name }}' as column_name,
        row_count,
        present_count,
        row_count - present_count as missing_count,
        {{ dbt.cast('present_count', xurrent.type_double()) }} / row_count as present_share,
        {{ threshold }} as threshold
    from measured
    where present_count < {{ threshold }} * row_count
)

select * from shortfalls
{% endtest %}
