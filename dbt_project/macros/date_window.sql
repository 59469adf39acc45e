{#
    The partition window, inclusive YYYY-MM-DD dates. Dagster passes a run's window in the
    environment (PLATFORM_DBT_MIN_DATE / PLATFORM_DBT_MAX_DATE); a plain `dbt build` falls
    back to the min_date / max_date vars of dbt_project.yml (or --vars).

    Why not --vars from Dagster: dbt re-parses the whole project whenever --vars change,
    i.e. on every partition. The variables are read only when `execute` is true, so dbt
    does not record them at parse time and a new window keeps the partial parse.
#}
{% macro window_bound(name) -%}
    {%- if execute -%}
        {{ env_var('PLATFORM_DBT_' ~ (name | upper), var(name)) }}
    {%- else -%}
        {{ var(name) }}
    {%- endif -%}
{%- endmacro %}

{#
    Inclusive partition window predicate on a date column. Applied on every run,
    including the first/full-refresh run, so a one-day run only ever builds that day.
#}
{% macro date_window(column_name) -%}
    {{ column_name }} between '{{ window_bound("min_date") }}'::date and '{{ window_bound("max_date") }}'::date
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
