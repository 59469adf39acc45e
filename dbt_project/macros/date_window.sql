{#
    Inclusive partition window predicate on a date column, driven by the
    min_date / max_date vars (YYYY-MM-DD). Applied on every run, including the
    first/full-refresh run, so a one-day run only ever builds that day.
#}
{% macro date_window(column_name) -%}
    {{ column_name }} between '{{ var("min_date") }}'::date and '{{ var("max_date") }}'::date
{%- endmacro %}
