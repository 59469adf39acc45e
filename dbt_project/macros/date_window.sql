{#
    Inclusive partition window predicate on a date column, driven by the
    min_date / max_date vars (YYYY-MM-DD). Applied on every run, including the
    first/full-refresh run, so a one-day run only ever builds that day.
#}
{% macro date_window(column_name) -%}
    {{ column_name }} between '{{ var("min_date") }}'::date and '{{ var("max_date") }}'::date
{%- endmacro %}

{#
    Pre-hook for the partitioned incremental models: delete the whole window first, so a
    date that has no rows any more is emptied too (delete+insert alone only replaces the
    dates present in the new rows). Runs in the model's transaction.
#}
{% macro delete_window(column_name='flight_date') -%}
    {% if is_incremental() %}
    delete from {{ this }} where {{ date_window(column_name) }}
    {% endif %}
{%- endmacro %}
