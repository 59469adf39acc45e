"""The main job on the embedded PostgreSQL: one day, a month, reconciliation, idempotence, dbt."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections import Counter

import dagster as dg
import pytest

from tests.integration.conftest import JANUARY, query

TABLES = [
    "clean.flights",
    "clean.weather",
    "clean.airlines",
    "clean.airports",
    "clean.planes",
    "quarantine.flights",
    "quarantine.weather",
    "aggregate.flight_daily_metrics",
    "analytics.fct_flights",
    "analytics.mart_carrier_daily_performance",
    "analytics.mart_weather_delay",
    "analytics.dim_carriers",
    "analytics.dim_airports",
    "analytics.dim_planes",
]


def landing_rows(landing, folder: str, first: dt.date, last: dt.date) -> list[dict[str, str]]:
    """Rows of the landing files in the window, read with the csv module (independent of the platform)."""
    rows = []
    day = first
    while day <= last:
        key = f"{folder}/{day.isoformat()}.csv"
        if landing.exists(key):
            rows += list(csv.DictReader(io.StringIO(landing.read_bytes(key).decode())))
        day += dt.timedelta(days=1)
    return rows


def snapshot(warehouse) -> dict[str, tuple]:
    """Row count and an order-independent checksum of every table the job writes."""
    return {
        table: query(
            warehouse, f"select count(*), md5(coalesce(string_agg(t::text, '|' order by t::text), '')) from {table} t"
        )[0]
        for table in TABLES
    }


def failed_error_checks(result: dg.ExecuteInProcessResult) -> list[str]:
    return [
        f"{e.asset_key.to_user_string()}:{e.check_name}"
        for e in result.get_asset_check_evaluations()
        if not e.passed and e.severity == dg.AssetCheckSeverity.ERROR
    ]


@pytest.fixture(scope="module")
def january(run_window, project_instance):
    """January as one ranged run on the project's instance configuration (dagster.yaml)."""
    return run_window(*JANUARY, instance=project_instance)


def _materializations(result: dg.ExecuteInProcessResult, asset: str) -> list[dg.AssetMaterialization]:
    events = [e.step_materialization_data.materialization for e in result.get_asset_materialization_events()]
    return [m for m in events if m.asset_key == dg.AssetKey(asset)]


def _row_counts_by_partition(result: dg.ExecuteInProcessResult, asset: str) -> dict[dt.date, int]:
    return {
        dt.date.fromisoformat(m.partition): m.metadata["dagster/row_count"].value
        for m in _materializations(result, asset)
    }


def test_each_partition_of_a_ranged_run_carries_its_own_figures(january, warehouse, landing):
    """After one ranged run, every day's materialization has that day's row count, not the month's."""
    day_of = lambda r: dt.date(int(r["year"]), int(r["month"]), int(r["day"]))  # noqa: E731
    flights_per_day = Counter(map(day_of, landing_rows(landing, "flights", *JANUARY)))
    weather_per_day = Counter(map(day_of, landing_rows(landing, "weather", *JANUARY)))
    assert len(flights_per_day) == 31 and len(set(flights_per_day.values())) > 1  # a shared figure could not pass
    assert _row_counts_by_partition(january, "raw_flights") == dict(flights_per_day)
    assert _row_counts_by_partition(january, "raw_weather") == dict(weather_per_day)
    quarantined = dict(
        query(
            warehouse,
            "select partition_date, count(*) from quarantine.flights where partition_date between %s and %s group by 1",
            JANUARY,
        )
    )
    clean = {day: n - quarantined.get(day, 0) for day, n in flights_per_day.items()}
    assert _row_counts_by_partition(january, "clean_flights") == clean
    assert _row_counts_by_partition(january, "fct_flights") == clean  # one fact row per clean flight
    groups = dict(
        query(
            warehouse,
            "select flight_date, count(*) from aggregate.flight_daily_metrics "
            "where flight_date between %s and %s group by 1",
            JANUARY,
        )
    )
    assert _row_counts_by_partition(january, "flight_daily_metrics") == groups
    # each day's own inputs and quarantine figures, and the run's window as context
    for m in _materializations(january, "clean_flights"):
        day = dt.date.fromisoformat(m.partition)
        assert m.metadata["rows_in"].value == flights_per_day[day]
        assert m.metadata["rows_quarantined"].value == quarantined.get(day, 0)
        assert m.metadata["partition_window"].value == "2013-01-01..2013-01-31"
        assert m.metadata["window_rows_out"].value == sum(clean.values())


def test_run_level_figures_sit_on_the_newest_partition_of_the_window(january):
    """A preview, column lineage and step costs describe the run: one copy, on the window's last day."""
    newest = JANUARY[1].isoformat()
    run_level = {
        "raw_flights": {"preview", "cost/wall_s"},
        "clean_flights": {"preview", "cost/wall_s", "dagster/column_lineage"},
        "flight_daily_metrics": {"preview", "cost/wall_s", "dagster/column_lineage"},
        "fct_flights": {"cost/wall_s"},
    }
    for asset, keys in run_level.items():
        events = _materializations(january, asset)
        assert len(events) == 31
        for key in keys:
            assert [m.partition for m in events if key in m.metadata] == [newest], (asset, key)


def test_reference_views_and_dimensions_are_materialized_once_and_daily_models_once_per_day(january, warehouse):
    """A month's run: one materialization per day for dbt models whose rows are days, one in all for the rest."""
    for asset in (
        "stg_flights",
        "stg_weather",
        "stg_flight_daily_metrics",
        "fct_flights",
        "mart_weather_delay",
        "mart_carrier_daily_performance",
    ):
        events = _materializations(january, asset)
        assert sorted(m.partition for m in events) == [
            (JANUARY[0] + dt.timedelta(days=i)).isoformat() for i in range(31)
        ], asset
    for asset in ("stg_airlines", "stg_airports", "stg_planes", "dim_carriers", "dim_airports", "dim_planes"):
        events = _materializations(january, asset)
        assert [m.partition for m in events] == [None], asset
        assert events[0].metadata["cost/wall_s"].value > 0, asset  # the step's figures, on that one event
    # the dimensions are whole: every carrier of the month's flights is there
    missing = query(
        warehouse,
        "select count(distinct f.carrier) from analytics.fct_flights f left join "
        "analytics.dim_carriers d using (carrier) where d.carrier is null",
    )[0][0]
    assert missing == 0


def test_a_dimension_is_materialized_alone_without_a_partition(january, defs, warehouse):
    """'Materialize' on an unpartitioned dbt asset in the UI: a run with no partition at all."""
    with warehouse.connect() as conn:
        conn.execute("delete from analytics.dim_carriers")
    result = dg.materialize(
        assets=[*defs.assets, *defs.asset_checks],
        resources=defs.resources,
        selection=dg.AssetSelection.assets("dim_carriers"),
        instance=dg.DagsterInstance.ephemeral(),
    )
    assert result.success
    assert [m.partition for m in _materializations(result, "dim_carriers")] == [None]
    carriers = query(warehouse, "select count(*), (select count(*) from clean.airlines) from analytics.dim_carriers")[0]
    assert carriers[0] == carriers[1] > 0


def test_month_reconciles_with_landing_files(january, warehouse, landing):
    assert january.success
    assert failed_error_checks(january) == []
    source = landing_rows(landing, "flights", *JANUARY)
    # every landing row is either clean or quarantined, per day
    per_day = query(
        warehouse,
        "select d, sum(c) from (select flight_date d, count(*) c from clean.flights group by 1 "
        "union all select partition_date, count(*) from quarantine.flights group by 1) x "
        "where d between %s and %s group by d order by d",
        JANUARY,
    )
    expected = Counter(dt.date(int(r["year"]), int(r["month"]), int(r["day"])) for r in source)
    assert dict(per_day) == dict(expected)
    assert len(per_day) == 31
    # cancelled flights are flights: the fact table has one row per source flight
    fct = query(warehouse, "select count(*) from analytics.fct_flights where flight_date between %s and %s", JANUARY)
    assert fct[0][0] == len(source)
    # per-carrier flight and cancellation counts equal the source's
    by_carrier = {
        carrier: (flights, cancelled)
        for carrier, flights, cancelled in query(
            warehouse,
            "select carrier, sum(flights), sum(cancelled_flights) from analytics.mart_carrier_daily_performance "
            "where flight_date between %s and %s group by 1",
            JANUARY,
        )
    }
    source_flights = Counter(r["carrier"] for r in source)
    source_cancelled = Counter(r["carrier"] for r in source if r["dep_time"] == "NA")
    assert by_carrier == {c: (n, source_cancelled[c]) for c, n in source_flights.items()}


def test_weather_reconciles_with_landing_files(january, warehouse, landing):
    source = landing_rows(landing, "weather", *JANUARY)
    clean = query(warehouse, "select count(*) from clean.weather where observation_date between %s and %s", JANUARY)[0][
        0
    ]
    quarantined = query(
        warehouse, "select count(*) from quarantine.weather where partition_date between %s and %s", JANUARY
    )[0][0]
    assert clean + quarantined == len(source)


def _indexes(warehouse) -> list[tuple]:
    """Every index of the window-written tables (dbt renames the dimensions' keys on every
    rebuild of their table materialization: not the window path, so left out)."""
    return query(
        warehouse,
        "select schemaname, tablename, indexname, indexdef from pg_indexes "
        "where schemaname in ('clean', 'quarantine', 'aggregate', 'analytics') "
        "and tablename not like 'dim\\_%%' order by 1, 2, 3",
    )


def test_rerunning_the_month_and_a_day_changes_nothing_and_keeps_every_key_and_index(january, run_window, warehouse):
    """A re-run of the whole window bulk-loads (indexes dropped and rebuilt); a day re-run replaces in place."""
    before, indexes = snapshot(warehouse), _indexes(warehouse)
    # the grain keys of the Python layers and the dbt contracts' primary keys, plus dbt's flight_date indexes
    assert {(schema, table) for schema, table, name, _ in indexes if name.endswith("_pkey")} >= {
        ("clean", "flights"),
        ("analytics", "fct_flights"),
        ("analytics", "mart_carrier_daily_performance"),
        ("analytics", "mart_weather_delay"),
    }
    # and the window column's index where the grain does not lead with it
    assert {(schema, table, name) for schema, table, name, _ in indexes} >= {
        ("clean", "flights", "flights_flight_date_idx"),
        ("quarantine", "flights", "flights_partition_date_idx"),
    }
    assert run_window(*JANUARY).success
    assert snapshot(warehouse) == before
    assert _indexes(warehouse) == indexes
    assert run_window(dt.date(2013, 1, 15), dt.date(2013, 1, 15)).success
    assert snapshot(warehouse) == before
    assert _indexes(warehouse) == indexes


def _enforced(warehouse, relation: str) -> tuple[set[str], set[str]]:
    """(NOT NULL columns, primary-key columns) of ``relation`` as the warehouse holds them."""
    not_null = {
        r[0]
        for r in query(
            warehouse,
            "select attname from pg_attribute where attrelid = %s::regclass "
            "and attnum > 0 and not attisdropped and attnotnull",
            (relation,),
        )
    }
    key = {
        r[0]
        for r in query(
            warehouse,
            "select a.attname from pg_constraint c join pg_attribute a "
            "on a.attrelid = c.conrelid and a.attnum = any(c.conkey) "
            "where c.conrelid = %s::regclass and c.contype = 'p'",
            (relation,),
        )
    }
    return not_null, key


def test_the_keys_and_required_columns_dbt_no_longer_tests_are_enforced_by_the_warehouse(january, warehouse):
    """No dbt test re-proves a grain or a required column (dbt_project/models/*/_*.yml): the warehouse
    must hold, after the bulk and one-day re-runs above, every primary key and NOT NULL that the
    marts' enforced contracts declare and that the tables beneath the staging views are built with."""
    from platform_assets.assets.dbt import dbt_project
    from platform_assets.sources.registry import clean_table, source_specs
    from platform_assets.tables import FLIGHT_DAILY_METRICS

    manifest = json.loads(dbt_project.manifest_path.read_text())
    contracts = [
        n
        for n in manifest["nodes"].values()
        if n["resource_type"] == "model" and n["config"].get("contract", {}).get("enforced")
    ]
    assert {n["name"] for n in contracts} >= {"fct_flights", "mart_carrier_daily_performance", "mart_weather_delay"}
    for node in contracts:
        declared = {c: {k["type"] for k in col.get("constraints", [])} for c, col in node["columns"].items()}
        key = {c for c, kinds in declared.items() if "primary_key" in kinds}
        key |= {c for k in node.get("constraints", []) if k["type"] == "primary_key" for c in k["columns"]}
        required = {c for c, kinds in declared.items() if kinds & {"not_null", "primary_key"}} | key
        not_null, enforced_key = _enforced(warehouse, f"{node['schema']}.{node['alias']}")
        assert key and enforced_key == key, node["name"]
        assert required <= not_null, node["name"]
    for spec in [*(clean_table(name) for name in source_specs()), FLIGHT_DAILY_METRICS]:
        not_null, enforced_key = _enforced(warehouse, f"{spec.schema}.{spec.name}")
        assert enforced_key == set(spec.grain), spec.name
        assert set(spec.grain) | set(spec.not_null) <= not_null, spec.name


def test_dbt_models_are_in_the_graph_with_their_tests_as_checks(defs):
    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert {"fct_flights", "mart_carrier_daily_performance", "mart_weather_delay", "dim_carriers"} <= keys
    # dbt sources resolve to the Python assets: one connected lineage graph
    upstream = {k.to_user_string() for k in graph.get(dg.AssetKey("stg_flights")).parent_keys}
    assert upstream == {"clean_flights"}
    assert any(k.asset_key == dg.AssetKey("fct_flights") for k in graph.asset_check_keys)


def test_weather_mart_joins_each_flight_once(january, warehouse):
    fct, mart = query(
        warehouse,
        "select (select count(*) from analytics.fct_flights where flight_date between %s and %s), "
        "(select sum(flights) from analytics.mart_weather_delay where flight_date between %s and %s)",
        (*JANUARY, *JANUARY),
    )[0]
    assert fct == mart


def test_volume_anomaly_check_scores_only_days_with_a_baseline(january):
    check = next(
        e for e in january.get_asset_check_evaluations() if e.check_name == "daily_volume_within_weekday_baseline"
    )
    assert check.severity == dg.AssetCheckSeverity.WARN
    # January 29-31 are the first days with four earlier same weekdays; 3 origins each
    assert check.metadata["days_scored"].value == 3 * 3
    assert check.metadata["days_without_baseline"].value == 28 * 3
    assert check.passed  # ordinary late-January days


def test_a_backfill_of_only_the_partitioned_assets_builds_the_marts_after_the_clean_tables(january, defs, warehouse):
    """What the backfill daemon runs: the partitioned assets only, unpartitioned ones excluded
    (and the landing assets, which are external: the platform never materializes them)."""
    graph = defs.resolve_asset_graph()
    partitioned = [k for k in graph.materializable_asset_keys if graph.get(k).partitions_def]
    first, last = dt.date(2013, 1, 13), dt.date(2013, 1, 15)
    with warehouse.connect() as conn:  # as if these days had never reached the marts
        conn.execute("delete from analytics.fct_flights where flight_date between %s and %s", (first, last))
    result = dg.materialize(
        assets=[*defs.assets, *defs.asset_checks],
        resources=defs.resources,
        selection=dg.AssetSelection.assets(*partitioned),
        instance=dg.DagsterInstance.ephemeral(),
        tags={"dagster/asset_partition_range_start": str(first), "dagster/asset_partition_range_end": str(last)},
    )
    assert result.success
    order = [e.step_key for e in result.all_events if e.event_type_value in ("STEP_START", "STEP_SUCCESS")]
    dbt_start = order.index("dbt_models")
    assert dbt_start > max(
        i for i, step in enumerate(order) if step in ("clean_flights", "clean_weather", "flight_daily_metrics")
    )
    fct, clean = query(
        warehouse,
        "select (select count(*) from analytics.fct_flights where flight_date between %s and %s), "
        "(select count(*) from clean.flights where flight_date between %s and %s)",
        (first, last, first, last),
    )[0]
    assert fct == clean > 0


def test_the_run_is_recorded_in_the_projects_postgres_instance(january, project_instance):
    """The main run went through dagster.yaml's storage (dagster-postgres), not an in-memory one."""
    from dagster_postgres import PostgresEventLogStorage

    assert isinstance(project_instance.event_log_storage, PostgresEventLogStorage)
    run = project_instance.get_run_by_id(january.run_id)
    assert run is not None and run.status == dg.DagsterRunStatus.SUCCESS
    stored = project_instance.fetch_materializations(dg.AssetKey("clean_flights"), limit=100).records
    assert {r.partition_key for r in stored if r.run_id == january.run_id} == {f"2013-01-{d:02d}" for d in range(1, 32)}
