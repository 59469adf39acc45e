"""What the UI and the CLI show after runs: cost and resource figures of every step
(`platform-assets costs`) and column lineage down to the landing file (`platform-assets lineage`)."""

from __future__ import annotations

import datetime as dt
import os

import dagster as dg
import pytest

from platform_assets.observability.column_lineage import trace_column
from platform_assets.observability.costs import asset_costs, render_costs
from tests.integration.conftest import query

DAYS = (dt.date(2013, 1, 11), dt.date(2013, 1, 12))


#: Tables whose sizes the steps measure and the test measures again afterwards.
MEASURED_TABLES = ("clean.flights", "quarantine.flights", "analytics.fct_flights")


@pytest.fixture(scope="module")
def instance(defs, warehouse):
    """An instance holding two runs of every asset over DAYS.

    Autovacuum is turned off on the measured tables after the first run: it may otherwise
    truncate the pages the second run's window replacement emptied between the step's
    measurement and the test's, and the sizes would differ for a reason outside the code.
    """
    instance = dg.DagsterInstance.ephemeral()
    # The first run as configured by default; the second with dbt models' column lineage,
    # which is opt-in (PLATFORM_DBT_COLUMN_METADATA=1), so both record their figures and the
    # latest materializations carry the lineage.
    tags = {
        "dagster/asset_partition_range_start": DAYS[0].isoformat(),
        "dagster/asset_partition_range_end": DAYS[1].isoformat(),
    }
    for run, lineage in enumerate(["0", "1"]):
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("PLATFORM_DBT_COLUMN_METADATA", lineage)
            result = dg.materialize(
                assets=[*defs.assets, *defs.asset_checks],
                resources=defs.resources,
                tags=tags,
                instance=instance,
            )
        assert result.success
        if run == 0:
            with warehouse.connect() as conn:  # waits for a vacuum in progress (its lock conflicts)
                for table in MEASURED_TABLES:
                    conn.execute(f"alter table {table} set (autovacuum_enabled = off, toast.autovacuum_enabled = off)")
    return instance


def test_every_step_records_its_costs_and_the_table_shows_them(instance, defs, warehouse):
    keys = sorted(defs.resolve_asset_graph().materializable_asset_keys, key=lambda k: k.to_user_string())
    costs = {c.asset: c for c in asset_costs(instance, keys, runs=5)}
    assert set(costs) == {k.to_user_string() for k in keys}
    for name, cost in costs.items():
        assert cost.runs == 2, name  # every asset, Python and dbt, recorded figures in both runs
        assert cost.wall_s is not None and cost.wall_s > 0, name
        assert cost.cpu_s is not None, name
        assert cost.peak_rss_mib is not None and cost.peak_rss_mib > 50, name  # a Python process with polars loaded
        if not name.startswith(("raw_", "clean_", "flight_daily_metrics")):
            continue  # a dbt model's CPU spans the time since the previous model, its wall only dbt's execution
        # a Python step's CPU seconds over its process tree: at most its wall time on every core (+ rusage granularity)
        assert 0 <= cost.cpu_s <= cost.wall_s * (os.cpu_count() or 1) + 0.05, name
    assert costs["clean_flights"].cpu_s > 0 and costs["raw_flights"].cpu_s > 0  # they parse and transform rows
    # the clean step wrote every raw row of the window to clean or quarantine, and measured both tables
    rows = query(
        warehouse,
        "select (select count(*) from clean.flights where flight_date between %s and %s) + "
        "(select count(*) from quarantine.flights where partition_date between %s and %s)",
        (*DAYS, *DAYS),
    )
    assert costs["clean_flights"].rows_written == rows[0][0]
    size = query(
        warehouse,
        "select pg_total_relation_size('clean.flights') + pg_total_relation_size('quarantine.flights'), "
        "(select count(*) from clean.flights) + (select count(*) from quarantine.flights)",
    )[0]
    assert (costs["clean_flights"].table_bytes, costs["clean_flights"].table_rows) == size
    fct = query(
        warehouse, "select pg_total_relation_size('analytics.fct_flights'), count(*) from analytics.fct_flights"
    )[0]
    assert (costs["fct_flights"].table_bytes, costs["fct_flights"].table_rows) == fct
    # the rendered table, with prices turned into money
    text = render_costs(
        list(costs.values()), 5, {"PLATFORM_PRICE_CPU_HOUR": "3600", "PLATFORM_PRICE_GB_MONTH": "1000000000"}
    )
    lines = text.splitlines()
    assert "cpu USD/run" in lines[0] and "storage USD/month" in lines[0]
    clean_line = next(line for line in lines if line.startswith("clean_flights "))
    # CPU price 3600/hour = 1 per CPU-second; storage price 1e9/GB = 1 per byte
    assert f"{costs['clean_flights'].cpu_s:,.6f}" in clean_line
    assert f"{float(size[0]):,.6f}" in clean_line
    assert len(lines) == 2 + len(keys)


def test_a_mart_column_is_traced_to_the_landing_file(instance):
    lines = [line.strip(" └─") for line in trace_column(instance, "fct_flights", "dep_delay_min")]
    assert lines == [
        "fct_flights.dep_delay_min",
        "stg_flights.dep_delay_min",
        "clean_flights.dep_delay_min",
        "raw_flights.dep_delay",
        "landing flights/YYYY-MM-DD.csv: column dep_delay",
    ]
    # a derived column reaches every landing column it is computed from, and the airports' time zones
    arrival = trace_column(instance, "clean_flights", "arr_at")
    for column in ("arr_time", "arr_delay", "dest", "sched_dep_time"):
        assert any(line.strip(" └─") == f"raw_flights.{column}" for line in arrival), column
    assert any(line.strip(" └─") == "clean_airports.tzone" for line in arrival)
