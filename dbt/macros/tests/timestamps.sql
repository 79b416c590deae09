{#- Timestamps that cannot be right. -#}

{#- The column is not earlier than `earlier` (e.g. updated_at >= created_at). -#}
{% test xurrent_not_before(model, column_name, earlier) %}
select *
from {{ model }}
where {{ column_name }} < {{ earlier }}
{% endtest %}

{#- No value later than now plus xurrent_future_tolerance_minutes (clock skew). -#}
{% test xurrent_not_in_future(model, column_name) %}
select *
from {{ model }}
where {{ column_name }} > {{ xurrent.timestamp_add(
    'minute', var('xurrent_future_tolerance_minutes', 10), dbt.current_timestamp()) }}
{% endtest %}
