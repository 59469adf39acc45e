"""A day larger than the batch budget: parsed, cleaned and loaded batch by batch, and still exact.

With ``PLATFORM_BATCH_ROWS=50`` a January day (~900 flights) is some twenty batches: the raw
step writes one parquet row group per batch, the clean step judges the row-local rules per
batch and the grain's uniqueness over the whole day in the warehouse. A duplicate whose
twin is in another batch is quarantined, a rejected row never makes a later valid row a
duplicate, dead-letter line numbers count from the top of the file, every row is accounted
for, and the warehouse ends exactly as with one batch.
"""

from __future__ import annotations

import datetime as dt

import dagster as dg
import polars as pl
import pyarrow.parquet as pq
import pytest

from tests.integration.conftest import query

DAY = dt.date(2013, 1, 16)
SELECTION = "key:raw_flights or key:clean_flights or key:raw_airports or key:clean_airports or key:flight_daily_metrics"
DUPLICATE_REASON = "duplicate_flight: another row already has the same (flight_id)"


@pytest.fixture(scope="module")
def own_warehouse(warehouse):
    """A database of this module's own on the session's server: whether a write bulk-loads
    depends on what the table holds, so the tests decide that."""
    from urllib.parse import urlsplit, urlunsplit

    from platform_assets.resources.embedded_postgres import ensure_database
    from platform_assets.resources.warehouse import WarehouseResource

    parts = urlsplit(warehouse.url)
    ensure_database(urlunsplit(parts._replace(path="/postgres")), "batches")
    return WarehouseResource(url=urlunsplit(parts._replace(path="/batches")))


@pytest.fixture(scope="module")
def run_own(defs, own_warehouse):
    """Materialize ``selection`` for ``first..last`` in one run against :func:`own_warehouse`."""

    def run(first: dt.date, last: dt.date, selection: str = SELECTION):
        tags = {
            "dagster/asset_partition_range_start": first.isoformat(),
            "dagster/asset_partition_range_end": last.isoformat(),
        }
        return dg.materialize(
            assets=[*defs.assets, *defs.asset_checks],
            resources={**defs.resources, "warehouse": own_warehouse},
            selection=selection,
            tags=tags,
            instance=dg.DagsterInstance.ephemeral(),
        )

    return run


@pytest.fixture()
def edited_day(landing, run_own):
    """DAY's file with: a broken copy of its last flight delivered first (source_row 1), the
    real rows (source_row 2..n+1), row 10 delivered again (n+2) and a truncated line (n+3)."""
    key = f"flights/{DAY.isoformat()}.csv"
    original = landing.read_bytes(key).decode()
    header, *rows = original.splitlines()
    broken = rows[-1].split(",")
    broken[5] = "twelve"  # dep_delay
    edited = [header, ",".join(broken), *rows, rows[9], rows[20][:25]]
    landing.write_bytes(key, ("\n".join(edited) + "\n").encode())
    yield rows
    landing.write_bytes(key, original.encode())


def _warehouse_state(warehouse, first: dt.date, last: dt.date) -> tuple[list, list, list]:
    clean = query(
        warehouse,
        "select flight_id, source_row, dep_delay_min, nulled_values from clean.flights "
        "where flight_date between %s and %s order by 1",
        (first, last),
    )
    quarantined = query(
        warehouse,
        "select partition_date, source_row, failed_rules, reason, flight from quarantine.flights "
        "where partition_date between %s and %s order by 1, 2",
        (first, last),
    )
    metrics = query(
        warehouse,
        "select flight_date, origin, carrier, flights, cancelled_flights, flown_flights, "
        "arrivals_reported, on_time_arrivals, round(mean_dep_delay_min::numeric, 9), "
        "round(p95_dep_delay_min::numeric, 9), round(mean_arr_delay_min::numeric, 9), "
        "round(p95_arr_delay_min::numeric, 9) from aggregate.flight_daily_metrics "
        "where flight_date between %s and %s order by 1, 2, 3",
        (first, last),
    )
    return clean, quarantined, metrics


def _materialization(result: dg.ExecuteInProcessResult, asset: str, day: dt.date) -> dg.AssetMaterialization:
    events = [e.step_materialization_data.materialization for e in result.get_asset_materialization_events()]
    return next(m for m in events if m.asset_key == dg.AssetKey(asset) and m.partition == day.isoformat())


@pytest.mark.parametrize("loaded", ["alone", "beside_other_days"])
def test_a_day_in_many_batches_is_exact(loaded, edited_day, run_own, own_warehouse, lake, monkeypatch):
    """Alone in its table the day is bulk-loaded (the keys, built after the load, find the
    repeat); beside ten other days its rows wait in a staging table. Both end the same."""
    warehouse = own_warehouse
    rows = edited_day
    n = len(rows)
    with warehouse.connect() as conn:
        for table in ("clean.flights", "quarantine.flights"):
            conn.execute(f"drop table if exists {table} cascade")
    if loaded == "beside_other_days":
        assert run_own(DAY - dt.timedelta(days=10), DAY - dt.timedelta(days=1)).success
    monkeypatch.setenv("PLATFORM_BATCH_ROWS", "50")
    result = run_own(DAY, DAY)
    assert result.success

    # the raw step wrote one row group per batch
    with lake._backend().reading(f"raw/flights/{DAY.isoformat()}.parquet") as path:
        assert pq.ParquetFile(path).num_row_groups >= (n + 3) // 50

    clean, quarantined, metrics = _warehouse_state(warehouse, DAY, DAY)
    assert len(clean) == n
    assert sum(m[3] for m in metrics) == n  # the warehouse aggregated the day (over the budget)
    by_row = {q[1]: q for q in quarantined}
    assert sorted(by_row) == [1, n + 2, n + 3]
    assert by_row[1][2] == "dep_delay_not_numeric"
    assert (by_row[n + 2][2], by_row[n + 2][3]) == ("duplicate_flight", DUPLICATE_REASON)
    assert by_row[n + 2][4] == rows[9].split(",")[10]  # the delivered text of the repeat
    assert by_row[n + 3][2] == "too_few_fields"
    assert by_row[n + 3][3].startswith(f"too_few_fields: line {n + 4}: ")
    source_rows = {flight_id: source_row for flight_id, source_row, *_ in clean}
    last, tenth = rows[-1].split(","), rows[9].split(",")
    assert source_rows[f"{DAY}/{last[9]}/{last[10]}/{last[12]}"] == n + 1  # the genuine flight, not its broken copy
    assert source_rows[f"{DAY}/{tenth[9]}/{tenth[10]}/{tenth[12]}"] == 11  # the first delivery wins

    clean_event = _materialization(result, "clean_flights", DAY)
    assert clean_event.metadata["rows_in"].value == n + 3
    assert clean_event.metadata["dagster/row_count"].value == n
    assert clean_event.metadata["rows_quarantined"].value == 3
    assert clean_event.metadata["quarantined_by_rule"].value == {
        "dep_delay_not_numeric": 1,
        "duplicate_flight": 1,
        "too_few_fields": 1,
    }
    assert _materialization(result, "raw_flights", DAY).metadata["dead_letters"].value == 1
    checks = {
        e.check_name: e.passed
        for e in result.get_asset_check_evaluations()
        if e.asset_key == dg.AssetKey("clean_flights")
    }
    assert checks["raw_equals_clean_plus_quarantined"] is True
    assert checks["clean_flights"] is True

    # one batch (the default budget) leaves exactly the same rows
    monkeypatch.delenv("PLATFORM_BATCH_ROWS")
    assert run_own(DAY, DAY).success
    assert _warehouse_state(warehouse, DAY, DAY) == (clean, quarantined, metrics)


def test_a_ranged_run_in_batches_matches_one_batch(edited_day, run_own, own_warehouse, monkeypatch):
    warehouse = own_warehouse
    first, last = DAY - dt.timedelta(days=1), DAY + dt.timedelta(days=1)
    assert run_own(first, last).success
    expected = _warehouse_state(warehouse, first, last)
    monkeypatch.setenv("PLATFORM_BATCH_ROWS", "64")
    result = run_own(first, last)
    assert result.success
    assert _warehouse_state(warehouse, first, last) == expected
    per_day = {d: _materialization(result, "clean_flights", d).metadata for d in (first, DAY, last)}
    counted = {
        d: query(
            warehouse,
            "select (select count(*) from clean.flights where flight_date = %s), "
            "(select count(*) from quarantine.flights where partition_date = %s)",
            (d, d),
        )[0]
        for d in per_day
    }
    for d, metadata in per_day.items():
        assert (metadata["dagster/row_count"].value, metadata["rows_quarantined"].value) == counted[d]
        assert metadata["rows_in"].value == sum(counted[d])
    assert counted[DAY][1] == 3


def test_the_warehouse_aggregates_a_day_like_polars(run_own, own_warehouse):
    """The aggregate of a day over the budget is computed in SQL; it equals the polars one."""
    from platform_assets.resources.warehouse import read_window
    from platform_assets.sources.registry import clean_table
    from platform_assets.tables import FLIGHT_DAILY_METRICS
    from platform_assets.transforms.metrics import flight_daily_metrics, flight_daily_metrics_sql

    warehouse = own_warehouse
    first, last = dt.date(2013, 1, 5), dt.date(2013, 1, 8)
    assert run_own(first, last).success
    flights = clean_table("flights")
    in_memory = flight_daily_metrics(read_window(warehouse, flights, (first, last)))
    with warehouse.connect() as conn:
        rows = conn.execute(flight_daily_metrics_sql(flights, first, last).as_string(conn)).fetchall()
    in_sql = (
        pl.DataFrame(rows, schema=FLIGHT_DAILY_METRICS.column_names, orient="row")
        .cast(dict(FLIGHT_DAILY_METRICS.columns))
        .sort("flight_date", "origin", "carrier")
    )
    assert in_memory.height == in_sql.height > 4 * 3  # every day, origin and carrier group
    assert in_memory.select(pl.exclude(pl.Float64)).equals(in_sql.select(pl.exclude(pl.Float64)))
    for column in ("mean_dep_delay_min", "p95_dep_delay_min", "mean_arr_delay_min", "p95_arr_delay_min"):
        difference = (in_memory[column] - in_sql[column]).abs().max()
        assert difference < 1e-9, column
        assert in_memory[column].null_count() == in_sql[column].null_count()


def test_checks_of_a_day_in_batches_find_a_broken_rule_and_a_repeated_key(run_own, own_warehouse, defs, monkeypatch):
    """A checks-only run streams a day over the budget a batch at a time; a row breaking a
    rule is found in its batch, and a key repeated across batches by the warehouse."""
    warehouse = own_warehouse
    assert run_own(DAY, DAY).success
    monkeypatch.setenv("PLATFORM_BATCH_ROWS", "50")
    tags = {
        "dagster/asset_partition_range_start": DAY.isoformat(),
        "dagster/asset_partition_range_end": DAY.isoformat(),
    }

    def evaluate() -> dict[str, dg.AssetCheckEvaluation]:
        result = dg.materialize(
            assets=[*defs.assets, *defs.asset_checks],
            resources={**defs.resources, "warehouse": warehouse},
            selection=dg.AssetSelection.checks_for_assets("clean_flights"),
            tags=tags,
            instance=dg.DagsterInstance.ephemeral(),
            raise_on_error=False,
        )
        return {e.check_name: e for e in result.get_asset_check_evaluations()}

    rows = query(warehouse, "select count(*) from clean.flights where flight_date = %s", (DAY,))[0][0]
    passed = evaluate()["clean_flights"]
    assert passed.passed and passed.metadata["rows_checked"].value == rows
    try:
        with warehouse.connect() as conn:
            conn.execute("update clean.flights set origin = 'BOS' where flight_date = %s and source_row = 700", (DAY,))
            conn.execute("alter table clean.flights drop constraint flights_pkey")  # nothing enforces the grain now
            conn.execute(
                "update clean.flights set flight_id = (select flight_id from clean.flights where flight_date = %s "
                "and source_row = 5) where flight_date = %s and source_row = 800",
                (DAY, DAY),
            )
        failed = evaluate()["clean_flights"]
        assert not failed.passed
        assert failed.metadata["failing_rows"].value == 2
        assert failed.metadata["failures_by_rule"].value == {
            "origin.isin(['EWR', 'JFK', 'LGA'])": 1,
            "duplicate_flight": 1,
        }
    finally:
        with warehouse.connect() as conn:
            conn.execute("drop table clean.flights cascade")


@pytest.mark.parametrize("budget", ["50", None], ids=["in_batches", "one_batch"])
def test_checks_judged_while_writing_equal_checks_read_back(budget, run_own, own_warehouse, defs, landing, monkeypatch):
    """The clean step validates the rows it writes; the run's checks report that, and a
    checks-only run reading the rows back from the warehouse finds exactly the same."""
    from platform_assets.sources.nycflights13 import publish_sample

    first, last = dt.date(2013, 5, 24), dt.date(2013, 5, 26)  # 2013-05-25 has a real WARN finding
    publish_sample(landing, first, last)
    if budget:
        monkeypatch.setenv("PLATFORM_BATCH_ROWS", budget)
    tags = {
        "dagster/asset_partition_range_start": first.isoformat(),
        "dagster/asset_partition_range_end": last.isoformat(),
    }

    def figures(result) -> dict:
        return {
            e.check_name: (
                e.passed,
                e.metadata["rows_checked"].value,
                e.metadata["failing_rows"].value,
                e.metadata["failures_by_rule"].value,
                e.metadata["validated"].value,
            )
            for e in result.get_asset_check_evaluations()
            if e.asset_key == dg.AssetKey("clean_flights") and "validated" in e.metadata
        }

    written = figures(run_own(first, last))
    read_back = figures(
        dg.materialize(
            assets=[*defs.assets, *defs.asset_checks],
            resources={**defs.resources, "warehouse": own_warehouse},
            selection=dg.AssetSelection.checks_for_assets("clean_flights"),
            tags=tags,
            instance=dg.DagsterInstance.ephemeral(),
        )
    )
    assert set(written) == set(read_back) == {"clean_flights", "clean_flights_plausibility"}
    assert {v[4] for v in written.values()} == {"as this run's materialization wrote them"}
    assert {v[4] for v in read_back.values()} == {"read back from the warehouse"}
    assert {k: v[:4] for k, v in written.items()} == {k: v[:4] for k, v in read_back.items()}
    assert written["clean_flights_plausibility"][2] > 0  # real WARN findings, so the comparison is not trivial
