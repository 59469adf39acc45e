{#
    Pre-hook / post-hook pair of the partitioned incremental models: replace the run's
    partition window, in the model's transaction, with the warehouse's window-replace
    functions (platform_assets/sql/window_replace.sql), the same implementation the Python
    layers' writer calls.

    clear_window empties the window first, so a date that has no rows any more is emptied
    too (delete+insert alone only replaces the dates present in the new rows). It holds the
    table in SHARE ROW EXCLUSIVE mode (one writer at a time; readers go on); when the window
    holds at least half of the table's rows (a backfill) it bulk-loads: TRUNCATE when the
    window is the whole table, and the table's keys and indexes dropped until
    rebuild_window_indexes builds them again after the insert. A duplicate key still fails
    the model and rolls it back. The platform's dbt step installs the functions before its
    `dbt build` (platform_assets.resources.warehouse.ensure_window_functions).
#}
{% macro clear_window(column_name='flight_date') -%}
    {% if is_incremental() %}
    select deleted, bulk from platform.clear_window(
        '{{ this.include(database=False) }}'::regclass, '{{ column_name }}',
        '{{ window_bound("min_date") }}'::date, '{{ window_bound("max_date") }}'::date
    )
    {% endif %}
{%- endmacro %}

{# Post-hook: rebuild what clear_window dropped (nothing when it did not bulk-load). #}
{% macro rebuild_window_indexes() -%}
    {% if is_incremental() %}
    select platform.rebuild_window_indexes('{{ this.include(database=False) }}'::regclass)
    {% endif %}
{%- endmacro %}
