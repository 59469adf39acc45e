"""Quality gates on the real data: real defects reported at WARN, a corrupted day blocked at ERROR."""

from __future__ import annotations

import csv
import datetime as dt
import io

import dagster as dg
import pytest

from platform_assets import cli
from platform_assets.quality.freshness import FRESH_MARTS, fresh_sources, freshness_checks, watched_drops
from platform_assets.sources.nycflights13 import publish_sample
from tests.integration.conftest import query

PYTHON_LAYERS = (
    "key:raw_flights or key:raw_weather or key:clean_flights or key:clean_weather or key:flight_daily_metrics "
    "or key:raw_airports or key:clean_airports or key:raw_planes or key:clean_planes or key:raw_airlines or key:clean_airlines"
)


def evaluations(result: dg.ExecuteInProcessResult) -> dict[str, dg.AssetCheckEvaluation]:
    return {f"{e.asset_key.to_user_string()}:{e.check_name}": e for e in result.get_asset_check_evaluations()}


def _csv(landing, key: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(landing.read_bytes(key).decode())))


def test_the_real_impossible_wind_speed_is_nulled_and_flagged_not_warned(run_window, landing, warehouse):
    day = dt.date(2013, 2, 12)
    publish_sample(landing, day, day)
    result = run_window(day, day, selection=PYTHON_LAYERS)
    assert result.success
    delivered = [r for r in _csv(landing, f"weather/{day.isoformat()}.csv") if r["wind_speed"] != "NA"]
    impossible = [r for r in delivered if float(r["wind_speed"]) > 253]
    assert len(impossible) == 1  # the 1048 mph reading at EWR
    rows = query(
        warehouse,
        "select origin, observed_at, wind_speed_mph, temp_f, nulled_values from clean.weather "
        "where observation_date = %s and nulled_values is not null",
        (day,),
    )
    assert len(rows) == 1
    origin, observed_at, wind, temp, why = rows[0]
    assert (origin, observed_at.isoformat().replace("+00:00", "Z")) == ("EWR", impossible[0]["time_hour"])
    assert wind is None and temp == float(impossible[0]["temp"])  # the rest of the hour is kept
    assert why == f"wind_speed_mph.less_than_or_equal_to(253) (got '{float(impossible[0]['wind_speed'])}')"
    checks = evaluations(result)
    assert checks["clean_weather:clean_weather_plausibility"].passed
    assert checks["clean_weather:raw_equals_clean_plus_quarantined"].passed
    materialization = result.asset_materializations_for_node("clean_weather")[0]
    assert materialization.metadata["rows_with_values_nulled"].value == 1


@pytest.mark.parametrize(
    ("day", "check", "rule"),
    [(dt.date(2013, 5, 25), "clean_flights:clean_flights_plausibility", "implied_speed_at_most_650_mph")],
)
def test_real_defects_are_reported_at_warn_and_do_not_block(day, check, rule, run_window, landing):
    publish_sample(landing, day, day)
    result = run_window(day, day, selection=PYTHON_LAYERS)
    assert result.success
    checks = evaluations(result)
    warned = checks[check]
    assert not warned.passed and warned.severity == dg.AssetCheckSeverity.WARN
    assert warned.metadata["failures_by_rule"].value[rule] >= 1
    assert "|" in warned.metadata["failure_sample"].value  # a Markdown table a person can act on
    # the blocking gates pass on the real data, and nothing is lost
    for name in (
        "clean_flights:clean_flights",
        "clean_weather:clean_weather",
        "flight_daily_metrics:flight_daily_metrics",
        "clean_flights:raw_equals_clean_plus_quarantined",
        "clean_weather:raw_equals_clean_plus_quarantined",
        "clean_flights:quarantine_share_within_limit",
        "clean_weather:quarantine_share_within_limit",
    ):
        assert checks[name].passed, name
    # unknown tail numbers: a real gap, counted at WARN, equal to a count straight from the landing files
    known = {row["tailnum"] for row in _csv(landing, "reference/planes.csv")}
    flights = _csv(landing, f"flights/{day.isoformat()}.csv")
    unknown = sum(1 for row in flights if row["tailnum"] != "NA" and row["tailnum"] not in known)
    planes = checks["clean_flights:tailnum_in_planes"]
    assert planes.severity == dg.AssetCheckSeverity.WARN
    assert planes.metadata["rows_without_match"].value == unknown > 0


def test_corrupted_day_blocks_its_marts_and_keeps_previous_good_data(run_window, landing, warehouse):
    day = dt.date(2013, 1, 25)
    key = f"flights/{day.isoformat()}.csv"
    assert run_window(day, day).success
    marts_before = query(
        warehouse,
        "select (select md5(string_agg(f::text, '|' order by f::text)) from analytics.fct_flights f where flight_date = %s), "
        "(select md5(string_agg(m::text, '|' order by m::text)) from analytics.mart_carrier_daily_performance m "
        "where flight_date = %s)",
        (day, day),
    )
    original = landing.read_bytes(key).decode()
    # Upstream switches JFK to its ICAO code: each row parses, but a third of the day breaks
    # the CleanFlights origin rule. The rows are quarantined, and the day is blocked.
    corrupted = original.replace(",JFK,", ",KJFK,")
    jfk_rows = original.count(",JFK,")
    assert jfk_rows > 100
    try:
        landing.write_bytes(key, corrupted.encode())
        result = run_window(day, day, raise_on_error=False)
        assert not result.success
        checks = evaluations(result)
        gate = checks["clean_flights:quarantine_share_within_limit"]
        assert not gate.passed and gate.severity == dg.AssetCheckSeverity.ERROR
        assert gate.metadata["quarantined_rows"].value == jfk_rows
        assert checks["clean_flights:raw_equals_clean_plus_quarantined"].passed  # nothing lost
        reasons = query(
            warehouse,
            "select failed_rules, reason, count(*) from quarantine.flights where partition_date = %s group by 1, 2",
            (day,),
        )
        assert reasons == [
            ("origin.isin(['EWR', 'JFK', 'LGA'])", "origin.isin(['EWR', 'JFK', 'LGA']) (got 'KJFK')", jfk_rows)
        ]
        materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
        assert "fct_flights" not in materialized and "mart_carrier_daily_performance" not in materialized
        assert (
            query(
                warehouse,
                "select (select md5(string_agg(f::text, '|' order by f::text)) from analytics.fct_flights f where flight_date = %s), "
                "(select md5(string_agg(m::text, '|' order by m::text)) from analytics.mart_carrier_daily_performance m "
                "where flight_date = %s)",
                (day, day),
            )
            == marts_before
        )
        # the checks-only run (what CI runs) sees the bad rows and fails on the ERROR check
        assert cli.main(["check", "--start", day.isoformat(), "--end", day.isoformat()]) == 1
    finally:
        landing.write_bytes(key, original.encode())
        assert run_window(day, day).success
    assert cli.main(["check", "--start", day.isoformat(), "--end", day.isoformat()]) == 0


def test_two_flights_sharing_a_natural_key_fail_the_stg_flights_check(run_window, warehouse, defs):
    """flight_id is unique by PRIMARY KEY; the dbt check proves the natural key behind it unique too."""
    day = dt.date(2013, 1, 26)
    run = run_window(day, day)  # its dbt build runs the key check too
    assert run.success
    ((first, second),) = query(
        warehouse,
        "select min(flight_id), max(flight_id) from clean.flights where flight_date = %s and carrier = 'UA'",
        (day,),
    )
    natural_key = "select carrier, flight_number, origin from clean.flights where flight_id = %s"
    (claimed,), (original,) = query(warehouse, natural_key, (first,)), query(warehouse, natural_key, (second,))

    def failed_checks(result) -> set[str]:
        return {
            f"{e.asset_key.to_user_string()}:{e.check_name}"
            for e in result.get_asset_check_evaluations()
            if not e.passed
        }

    key_check = "stg_flights:key_joins_columns_stg_flights_flight_id"
    evaluated = {f"{e.asset_key.to_user_string()}:{e.check_name}" for e in run.get_asset_check_evaluations()}
    assert any(name.startswith(key_check) for name in evaluated)
    assert not any(name.startswith(key_check) for name in failed_checks(run))
    # The second flight now claims the first one's (date, carrier, flight number, origin)
    # under its own flight_id: no constraint of the warehouse sees it.
    update = "update clean.flights set (carrier, flight_number, origin) = (%s, %s, %s) where flight_id = %s"
    try:
        with warehouse.connect() as conn:
            conn.execute(update, (*claimed, second))
        result = cli.run_checks(defs, day, day)
        assert any(name.startswith(key_check) for name in failed_checks(result))
        # a failing test is a fact about the data: the dbt step fails once, naming it, without retries
        dbt_events = [e for e in result.all_events if e.step_key == "dbt_models"]
        assert [e.event_type_value for e in dbt_events if e.event_type_value == "STEP_UP_FOR_RETRY"] == []
        [failure] = [e for e in dbt_events if e.event_type_value == "STEP_FAILURE"]
        assert "key_joins_columns_stg_flights_flight_id" in failure.step_failure_data.error.message
    finally:
        with warehouse.connect() as conn:
            conn.execute(update, (*original, second))


def test_marts_are_fresh_only_when_the_latest_partition_is_in(defs):
    """With the 2013 partitions, 'latest complete partition' is 2013-12-31, whatever today is."""
    instance = dg.DagsterInstance.ephemeral()

    def evaluate() -> dict[str, dg.AssetCheckEvaluation]:
        result = dg.materialize(
            assets=[*defs.assets, *defs.asset_checks],
            resources=defs.resources,
            instance=instance,
            selection=dg.AssetSelection.checks(*freshness_checks()),
        )
        return {e.asset_key.to_user_string(): e for e in result.get_asset_check_evaluations()}

    # the marts, the sources declaring `freshness:` and their producers' drops
    fresh_assets = [*FRESH_MARTS, *fresh_sources(), *watched_drops()]
    assert set(fresh_sources()) == {"clean_flights", "clean_weather"}
    assert set(watched_drops()) == {"landing/flights", "landing/weather"}

    def report(partition: str) -> None:
        for asset in fresh_assets:
            key = dg.AssetKey.from_user_string(asset)
            instance.report_runless_asset_event(dg.AssetMaterialization(asset_key=key, partition=partition))

    stale = evaluate()
    assert set(stale) == set(fresh_assets)
    assert all(not e.passed and e.severity == dg.AssetCheckSeverity.WARN for e in stale.values())
    report("2013-12-30")  # the day before the latest does not count
    assert not any(e.passed for e in evaluate().values())
    report("2013-12-31")
    assert all(e.passed for e in evaluate().values())
