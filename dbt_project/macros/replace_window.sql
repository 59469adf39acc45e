{#
    Pre-hook / post-hook pair of the partitioned incremental models: replace the run's
    partition window, in the model's transaction.

    clear_window empties the window first, so a date that has no rows any more is emptied
    too (delete+insert alone only replaces the dates present in the new rows). It holds the
    table in SHARE ROW EXCLUSIVE mode (one writer at a time; readers go on), and when the
    window holds at least half of the table's rows (a backfill) it bulk-loads, as the
    Python layers' writer does (platform_assets/resources/warehouse.py): TRUNCATE when the
    window is the whole table, and the table's indexes (the contract's primary key, the
    flight_date index) dropped here and rebuilt by rebuild_window_indexes after the insert.
    Building an index once is several times cheaper than maintaining it row by row against
    the deleted rows' entries. A duplicate key still fails the model and rolls it back.
#}
{% macro clear_window(column_name='flight_date') -%}
    {% if is_incremental() %}
    {%- set target = this.include(database=False) -%}
    create temporary table if not exists dbt_window_index_ddl (statement text) on commit drop;
    do $clear_window$
    declare
        inside bigint;
        total bigint;
        r record;
    begin
        lock table {{ target }} in share row exclusive mode;
        select count(*) filter (where {{ date_window(column_name) }}), count(*)
            into inside, total from {{ target }};
        if inside = total then
            truncate {{ target }};
        else
            delete from {{ target }} where {{ date_window(column_name) }};
        end if;
        if inside >= total - inside then
            for r in
                select conname, pg_get_constraintdef(oid) as definition from pg_constraint
                where conrelid = '{{ target }}'::regclass and contype in ('p', 'u')
            loop
                insert into dbt_window_index_ddl values (
                    format('alter table %s add constraint %I %s', '{{ target }}', r.conname, r.definition));
                execute format('alter table %s drop constraint %I', '{{ target }}', r.conname);
            end loop;
            for r in
                select pg_get_indexdef(i.indexrelid) as definition, i.indexrelid::regclass::text as name
                from pg_index i
                where i.indrelid = '{{ target }}'::regclass
                  and not exists (select 1 from pg_constraint c where c.conindid = i.indexrelid)
            loop
                insert into dbt_window_index_ddl values (r.definition);
                execute format('drop index %s', r.name);
            end loop;
        end if;
    end
    $clear_window$;
    {% endif %}
{%- endmacro %}

{# Post-hook: rebuild what clear_window dropped (nothing when it did not bulk-load). #}
{% macro rebuild_window_indexes() -%}
    do $rebuild_window_indexes$
    declare
        r record;
    begin
        if to_regclass('pg_temp.dbt_window_index_ddl') is not null then
            for r in select statement from dbt_window_index_ddl loop
                execute r.statement;
            end loop;
            delete from dbt_window_index_ddl;
        end if;
    end
    $rebuild_window_indexes$
{%- endmacro %}
