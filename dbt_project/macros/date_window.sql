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
