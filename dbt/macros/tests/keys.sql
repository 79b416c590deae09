{#- The combination of columns is unique (a grain with no single key column). -#}
{% test xurrent_unique_combination(model, combination) %}
select
    {{ combination | join(', ') }},
    count(*) as copies
from {{ model }}
group by {{ combination | join(', ') }}
having count(*) > 1
{% endtest %}
