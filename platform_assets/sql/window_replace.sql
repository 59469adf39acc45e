-- The window replace of the warehouse, in one place: the Python layers' writer
-- (platform_assets/resources/warehouse.py) and dbt's partitioned incremental models
-- (dbt_project/macros/replace_window.sql) both call these two functions, in the transaction
-- of their write. The warehouse resource installs them (under an advisory lock) before a write
-- and before the dbt step's build when the installed version (the functions' comment) differs from
-- WINDOW_REPLACE_VERSION in platform_assets/resources/warehouse.py; bump it with any change here.
--
-- platform.clear_window(target, window_column, first_day, last_day) -> (deleted, bulk)
--   Holds the table in SHARE ROW EXCLUSIVE mode until the commit (one writer at a time,
--   readers go on), then removes the rows whose window_column falls in first_day..last_day
--   (every row when window_column is null): TRUNCATE when that is the whole table (no dead
--   rows for vacuum), DELETE otherwise. When the window held at least half of the table's
--   rows (a backfill), the table's primary/unique constraints and other indexes are dropped
--   and remembered in a temporary table of the transaction: building an index once after
--   the load is several times cheaper than maintaining it row by row against the deleted
--   rows' entries. Returns the rows removed and whether it bulk-loads.
-- platform.rebuild_window_indexes(target)
--   Recreates what clear_window dropped for target (nothing when it did not bulk-load).
--   A duplicate key then fails the statement and the whole write rolls back.

create schema if not exists platform;

create or replace function platform.clear_window(
    target regclass, window_column text, first_day date, last_day date,
    out deleted bigint, out bulk boolean
) language plpgsql as $function$
declare
    inside_window text := 'true';
    total bigint;
    r record;
begin
    execute format('lock table %s in share row exclusive mode', target);
    if window_column is not null then
        inside_window := format('%I between %L and %L', window_column, first_day, last_day);
    end if;
    execute format('select count(*) filter (where %s), count(*) from %s', inside_window, target)
        into deleted, total;
    if deleted = total then
        execute format('truncate %s', target);
    else
        execute format('delete from %s where %s', target, inside_window);
    end if;
    bulk := deleted >= total - deleted;
    if bulk then
        create temporary table if not exists platform_dropped_indexes (
            target regclass, position serial, statement text
        ) on commit drop;
        for r in
            select conname, pg_get_constraintdef(oid) as definition from pg_constraint
            where conrelid = target and contype in ('p', 'u') order by conname
        loop
            insert into platform_dropped_indexes (target, statement) values (
                target, format('alter table %s add constraint %I %s', target, r.conname, r.definition));
            execute format('alter table %s drop constraint %I', target, r.conname);
        end loop;
        for r in
            select pg_get_indexdef(i.indexrelid) as definition, i.indexrelid::regclass::text as name
            from pg_index i
            where i.indrelid = target
              and not exists (select 1 from pg_constraint c where c.conindid = i.indexrelid)
            order by 2
        loop
            insert into platform_dropped_indexes (target, statement) values (target, r.definition);
            execute format('drop index %s', r.name);
        end loop;
    end if;
end
$function$;

create or replace function platform.rebuild_window_indexes(target regclass)
returns integer language plpgsql as $function$
declare
    r record;
    rebuilt integer := 0;
begin
    if to_regclass('pg_temp.platform_dropped_indexes') is null then
        return 0;
    end if;
    for r in
        select position, statement from platform_dropped_indexes
        where platform_dropped_indexes.target = rebuild_window_indexes.target order by position
    loop
        execute r.statement;
        rebuilt := rebuilt + 1;
    end loop;
    delete from platform_dropped_indexes where platform_dropped_indexes.target = rebuild_window_indexes.target;
    return rebuilt;
end
$function$;
