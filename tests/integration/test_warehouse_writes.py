"""Window replaces on the real PostgreSQL: a backfill-sized window is bulk-loaded (TRUNCATE or
indexes rebuilt after the COPY) and ends exactly as a row-by-row replace would, atomically."""

from __future__ import annotations

import datetime as dt
import time

import polars as pl
import pytest

from platform_assets.resources.warehouse import TableWrite
from platform_assets.tables import TableSpec
from tests.integration.conftest import query

DAYS = [dt.date(2013, 1, 1) + dt.timedelta(days=i) for i in range(4)]


@pytest.fixture()
def spec(warehouse, request) -> TableSpec:
    """A scratch table with the platform's write path (no real table is disturbed), dropped after."""
    spec = TableSpec(
        schema="scratch",
        name=f"bulk_{request.node.name[-40:].lower()}",
        columns={"day": pl.Date(), "k": pl.String(), "n": pl.Int32()},
        descriptions={},
        grain=("day", "k"),
        window_column="day",
        not_null=("n",),
    )
    yield spec
    with warehouse.connect() as conn:
        conn.execute(f"drop table if exists {spec.qualified_name}")


def _rows(days, keys, n) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "day": [d for d in days for _ in keys],
            "k": [k for _ in days for k in keys],
            "n": [n] * (len(days) * len(keys)),
        }
    ).cast({"day": pl.Date(), "k": pl.String(), "n": pl.Int32()})


def _indexes(warehouse, spec) -> list[tuple[str, str]]:
    return query(
        warehouse,
        "select indexname, indexdef from pg_indexes where schemaname = %s and tablename = %s order by 1",
        (spec.schema, spec.name),
    )


def _table(warehouse, spec) -> list[tuple]:
    return query(warehouse, f"select day, k, n from {spec.qualified_name} order by day, k")


def test_a_window_covering_the_whole_table_is_replaced_exactly(warehouse, spec):
    warehouse.replace([TableWrite(spec, _rows(DAYS, "ab", 1), (DAYS[0], DAYS[-1]))])
    indexes = _indexes(warehouse, spec)
    deleted = warehouse.replace([TableWrite(spec, _rows(DAYS, "bc", 2), (DAYS[0], DAYS[-1]))])
    assert deleted == {spec.qualified_name: 8}
    assert _table(warehouse, spec) == [(d, k, 2) for d in DAYS for k in "bc"]
    assert _indexes(warehouse, spec) == indexes  # the grain's primary key, as it was


def test_a_window_holding_most_rows_keeps_the_rows_outside_it(warehouse, spec):
    warehouse.replace([TableWrite(spec, _rows(DAYS, "ab", 1), (DAYS[0], DAYS[-1]))])
    with warehouse.connect() as conn:  # an index a user added is rebuilt too
        conn.execute(f"create index bulk_n_idx on {spec.qualified_name} (n)")
    indexes = _indexes(warehouse, spec)
    deleted = warehouse.replace([TableWrite(spec, _rows(DAYS[1:], "c", 3), (DAYS[1], DAYS[-1]))])
    assert deleted == {spec.qualified_name: 6}
    assert _table(warehouse, spec) == [(DAYS[0], "a", 1), (DAYS[0], "b", 1)] + [(d, "c", 3) for d in DAYS[1:]]
    assert _indexes(warehouse, spec) == indexes


def test_a_window_column_behind_the_grain_gets_its_own_index_and_keeps_it_through_bulk_loads(warehouse, request):
    spec = TableSpec(
        schema="scratch",
        name=f"bulk_{request.node.name[-40:].lower()}",
        columns={"day": pl.Date(), "k": pl.String(), "n": pl.Int32()},
        descriptions={},
        grain=("k", "day"),
        window_column="day",
    )
    try:
        warehouse.replace([TableWrite(spec, _rows(DAYS, "ab", 1), (DAYS[0], DAYS[-1]))])
        indexes = _indexes(warehouse, spec)
        assert [name for name, _ in indexes] == [f"{spec.name}_day_idx", f"{spec.name}_pkey"]
        assert indexes[0][1].endswith("USING btree (day)")
        warehouse.replace([TableWrite(spec, _rows(DAYS, "bc", 2), (DAYS[0], DAYS[-1]))])  # TRUNCATE, rebuilt
        warehouse.replace([TableWrite(spec, _rows(DAYS[:1], "z", 3), (DAYS[0], DAYS[0]))])  # in place
        assert _indexes(warehouse, spec) == indexes
        with warehouse.connect() as conn:
            conn.execute("set enable_seqscan = off")  # a 9-row table: only whether the index can serve the read
            plan = conn.execute(f"explain select * from {spec.qualified_name} where day = %s", (DAYS[0],)).fetchall()
        assert f"{spec.name}_day_idx" in " ".join(row[0] for row in plan)
    finally:
        with warehouse.connect() as conn:
            conn.execute(f"drop table if exists {spec.qualified_name}")


def test_a_small_window_is_replaced_in_place(warehouse, spec):
    warehouse.replace([TableWrite(spec, _rows(DAYS, "ab", 1), (DAYS[0], DAYS[-1]))])
    deleted = warehouse.replace([TableWrite(spec, _rows(DAYS[:1], "z", 9), (DAYS[0], DAYS[0]))])
    assert deleted == {spec.qualified_name: 2}
    assert _table(warehouse, spec) == [(DAYS[0], "z", 9)] + [(d, k, 1) for d in DAYS[1:] for k in "ab"]


def test_a_duplicate_grain_key_in_a_bulk_load_fails_and_leaves_the_previous_rows(warehouse, spec):
    warehouse.replace([TableWrite(spec, _rows(DAYS, "ab", 1), (DAYS[0], DAYS[-1]))])
    before, indexes = _table(warehouse, spec), _indexes(warehouse, spec)
    duplicated = pl.concat([_rows(DAYS, "ab", 2), _rows(DAYS[:1], "a", 3)])
    with pytest.raises(Exception, match="duplicate|unique"):
        warehouse.replace([TableWrite(spec, duplicated, (DAYS[0], DAYS[-1]))])
    assert _table(warehouse, spec) == before
    assert _indexes(warehouse, spec) == indexes


def test_a_bulk_load_into_an_empty_table_creates_its_key(warehouse, spec):
    warehouse.replace([TableWrite(spec, _rows(DAYS, "ab", 1), (DAYS[0], DAYS[-1]))])
    assert [name for name, _ in _indexes(warehouse, spec)] == [f"{spec.name}_pkey"]
    with pytest.raises(Exception, match="duplicate|unique"):  # the key is enforced afterwards
        # day 0's "a" already sits outside the replaced window (day 3)
        warehouse.replace([TableWrite(spec, _rows(DAYS[:1], "a", 1), (DAYS[3], DAYS[3]))])


def _backend_pid(warehouse) -> int:
    with warehouse.connect_arrow() as conn, conn.cursor() as cur:
        cur.execute("select pg_backend_pid() as pid")
        return pl.DataFrame(cur.fetch_arrow())["pid"][0]


def test_arrow_connections_are_reused_after_success_and_replaced_after_a_failure(warehouse, spec):
    warehouse.replace([TableWrite(spec, _rows(DAYS, "ab", 1), (DAYS[0], DAYS[-1]))])
    first = _backend_pid(warehouse)
    assert _backend_pid(warehouse) == first  # the same session: no new connection per read
    with pytest.raises(ValueError, match="lacks columns"):
        warehouse.replace([TableWrite(spec, pl.DataFrame({"day": [DAYS[0]]}), (DAYS[0], DAYS[0]))])
    # the failed write's connection is closed, not handed to the next caller
    assert _backend_pid(warehouse) != first
    deadline = time.monotonic() + 10  # the server ends the closed session asynchronously
    while query(warehouse, "select count(*) from pg_stat_activity where pid = %s", (first,))[0][0]:
        assert time.monotonic() < deadline, f"backend {first} of the failed write is still open"
        time.sleep(0.05)
    assert _table(warehouse, spec) == [(d, k, 1) for d in DAYS for k in "ab"]  # the window was rolled back


def test_an_idle_arrow_connection_the_server_dropped_is_replaced(warehouse, spec):
    pid = _backend_pid(warehouse)
    query(warehouse, "select pg_terminate_backend(%s)", (pid,))
    warehouse.replace([TableWrite(spec, _rows(DAYS, "ab", 1), (DAYS[0], DAYS[-1]))])
    assert _table(warehouse, spec) == [(d, k, 1) for d in DAYS for k in "ab"]
    assert _backend_pid(warehouse) != pid


def test_the_window_replace_functions_are_installed_once_and_again_after_a_change(warehouse):
    """One implementation in the warehouse (sql/window_replace.sql), shared with dbt's models:
    installed with its version, left alone while that version is there, replaced when it differs."""
    from platform_assets.resources import warehouse as module

    signature = "platform.clear_window(regclass,text,date,date)"
    installed = f"select obj_description(to_regprocedure('{signature}'), 'pg_proc')"
    url = warehouse.get_url()
    module.ensure_window_functions(url)
    assert query(warehouse, installed) == [(module.WINDOW_REPLACE_VERSION,)]
    with warehouse.connect() as conn:  # an older version was installed by a previous release
        conn.execute(f"comment on function {signature} is 'window-replace 0'")
    module.ensure_window_functions(url)  # this process already checked: nothing asked again
    assert query(warehouse, installed) == [("window-replace 0",)]
    module._WINDOW_FUNCTIONS_READY.discard(url)  # a new process (a new run) checks again
    module.ensure_window_functions(url)
    assert query(warehouse, installed) == [(module.WINDOW_REPLACE_VERSION,)]
