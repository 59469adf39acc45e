"""Bad landing files and interrupted writes: quarantined with a reason, or a clear failure,
and never a half-written window. Every defect class is in test_bad_input_suite.py;
these are the reason texts, strays, redeliveries and the relabelled-rows regression."""

from __future__ import annotations

import datetime as dt

import dagster as dg
import polars as pl
import pytest

from platform_assets.resources.warehouse import TableWrite
from platform_assets.tables import TableSpec
from tests.integration.conftest import query

PYTHON_LAYERS = "key:raw_flights or key:clean_flights or key:raw_airports or key:clean_airports"


def _day_file(landing, day: dt.date) -> str:
    return landing.read_bytes(f"flights/{day.isoformat()}.csv").decode()


def test_corrupt_rows_are_quarantined_with_reason(run_window, landing, warehouse):
    day = dt.date(2013, 1, 20)
    original = _day_file(landing, day)
    lines = original.splitlines()
    fields = lines[5].split(",")
    fields[5] = "twelve"  # dep_delay
    outlier = lines[8].split(",")
    outlier[12] = "BOS"  # origin: parses, but breaks the CleanFlights model's rule
    corrupted = [*lines[:5], ",".join(fields), *lines[6:8], ",".join(outlier), *lines[9:], lines[7], lines[9][:20]]
    # + a duplicate + a truncated row
    try:
        landing.write_bytes(f"flights/{day.isoformat()}.csv", ("\n".join(corrupted) + "\n").encode())
        result = run_window(day, day, selection=PYTHON_LAYERS)
        assert result.success
        rows = query(
            warehouse,
            "select source_row, failed_rules, reason, dep_delay from quarantine.flights where partition_date = %s order by 1",
            (day,),
        )
        by_row = {r[0]: r for r in rows}
        assert by_row[5][1] == "dep_delay_not_numeric" and by_row[5][3] == "twelve"
        assert "'twelve' is not a number in 'dep_delay'" in by_row[5][2]
        assert by_row[8][1] == "origin.isin(['EWR', 'JFK', 'LGA'])" and "(got 'BOS')" in by_row[8][2]
        assert by_row[len(lines)][1] == "duplicate_flight"
        assert by_row[len(lines) + 1][1] == "too_few_fields"  # the truncated row is a dead letter
        clean = query(warehouse, "select count(*) from clean.flights where flight_date = %s", (day,))[0][0]
        assert clean + len(rows) == len(corrupted) - 1  # every data row accounted for
    finally:
        landing.write_bytes(f"flights/{day.isoformat()}.csv", original.encode())
        assert run_window(day, day, selection=PYTHON_LAYERS).success
    assert query(warehouse, "select count(*) from quarantine.flights where partition_date = %s", (day,))[0][0] == 0


def test_interrupted_write_leaves_previous_state(warehouse):
    # A scratch table with the platform's write path, so no real table is disturbed.
    spec = TableSpec(
        schema="scratch",
        name="atomicity",
        columns={"day": pl.Date(), "k": pl.String(), "n": pl.Int32()},
        descriptions={},
        grain=("day", "k"),
        window_column="day",
        not_null=("n",),
    )
    day = dt.date(2013, 1, 2)
    first = pl.DataFrame({"day": [day, day], "k": ["a", "b"], "n": [1, 2]}).cast(dict(spec.columns))
    warehouse.replace([TableWrite(spec, first, (day, day))])
    before = query(warehouse, "select * from scratch.atomicity order by k")
    # the second write deletes the window, loads one good row, then breaks NOT NULL mid-COPY
    second = pl.DataFrame({"day": [day, day], "k": ["c", "d"], "n": [3, None]}).cast(dict(spec.columns))
    with pytest.raises(Exception, match="null value"):
        warehouse.replace([TableWrite(spec, second, (day, day))])
    assert query(warehouse, "select * from scratch.atomicity order by k") == before


def test_files_outside_the_contract_are_reported_not_ingested(run_window, landing, warehouse):
    day = dt.date(2013, 1, 23)
    real = _day_file(landing, day)
    strays = {
        "flights/2014-03-02.csv": "date 2014-03-02 is outside the partitions 2013-01-01..2013-12-31",
        "flights/2013-02-30.csv": "'2013-02-30' is not a calendar date",
        "cargo/2013-01-23.csv": "unknown landing folder 'cargo'",
        "flights/notes.txt": "not '<folder>/YYYY-MM-DD.csv' or '.csv.gz'",
    }
    ambiguous = "flights/2013-01-23.csv.gz"
    try:
        for key in strays:
            landing.write_bytes(key, real.encode())
        result = run_window(day, day, selection="key:raw_flights or key:raw_weather")
        check = next(e for e in result.get_asset_check_evaluations() if e.check_name == "landing_files_follow_contract")
        assert not check.passed and check.severity == dg.AssetCheckSeverity.WARN
        assert check.metadata["files_breaking_contract"].value == len(strays)
        problems = check.metadata["problems"].value
        for key, reason in strays.items():
            assert key in problems and reason in problems
        # two spellings of the same drop: the day's raw step fails clearly instead of guessing
        landing.write_bytes(ambiguous, real.encode())
        result = run_window(day, day, selection="key:raw_flights", raise_on_error=False)
        assert not result.success
        failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
        message = failure.step_failure_data.user_failure_data.description
        assert "ambiguous drop" in message and ambiguous in message and "flights/2013-01-23.csv'" in message
    finally:
        for key in [*strays, ambiguous]:
            landing.delete(key)
    if query(warehouse, "select to_regclass('clean.flights') is not null")[0][0]:  # absent when run first
        assert query(warehouse, "select count(*) from clean.flights where flight_date >= '2014-01-01'")[0][0] == 0


def test_redelivered_file_with_changed_rows_replaces_its_day_everywhere(run_window, landing, warehouse):
    day = dt.date(2013, 1, 22)
    key = f"flights/{day.isoformat()}.csv"
    original = _day_file(landing, day)
    assert run_window(day, day).success
    lines = original.splitlines()
    header = lines[0].split(",")
    col = {name: i for i, name in enumerate(header)}
    target = next(
        i
        for i, line in enumerate(lines[5:], 5)
        if (f := line.split(","))[col["dep_time"]] != "NA"
        and 600 <= int(f[col["sched_dep_time"]]) < int(f[col["sched_arr_time"]]) <= 2100
    )
    changed = lines[target].split(",")

    # a daytime flight left and arrived 77 minutes later than first reported
    def later(hhmm: str) -> str:
        minutes = int(hhmm) // 100 * 60 + int(hhmm) % 100 + 77
        return f"{minutes // 60}{minutes % 60:02d}"

    changed[header.index("dep_time")] = later(changed[header.index("sched_dep_time")])
    changed[header.index("dep_delay")] = "77"
    changed[header.index("arr_time")] = later(changed[header.index("sched_arr_time")])
    changed[header.index("arr_delay")] = "77"
    removed = lines[1:5]  # upstream withdrew four flights
    redelivered = [lines[0], *lines[5:target], ",".join(changed), *lines[target + 1 :]]

    def flight_id(fields: list[str]) -> str:
        return (
            f"{day}/{fields[header.index('carrier')]}/{fields[header.index('flight')]}/{fields[header.index('origin')]}"
        )

    try:
        landing.write_bytes(key, ("\n".join(redelivered) + "\n").encode())
        assert run_window(day, day).success
        for table in ("clean.flights", "analytics.fct_flights"):
            rows, distinct = query(
                warehouse, f"select count(*), count(distinct flight_id) from {table} where flight_date = %s", (day,)
            )[0]
            assert rows == distinct == len(redelivered) - 1, table
        gone = [flight_id(line.split(",")) for line in removed]
        assert (
            query(warehouse, "select count(*) from analytics.fct_flights where flight_id = any(%s)", (gone,))[0][0] == 0
        )
        assert query(
            warehouse, "select dep_delay_min from analytics.fct_flights where flight_id = %s", (flight_id(changed),)
        ) == [(77,)]
        flights = query(
            warehouse,
            "select sum(flights) from analytics.mart_carrier_daily_performance where flight_date = %s",
            (day,),
        )[0][0]
        assert flights == len(redelivered) - 1
    finally:
        landing.write_bytes(key, original.encode())
        assert run_window(day, day).success
    assert (
        query(warehouse, "select count(*) from analytics.fct_flights where flight_date = %s", (day,))[0][0]
        == len(lines) - 1
    )


def test_relabelled_rows_never_cost_the_genuine_flights(run_window, landing, warehouse):
    """The relabelled-rows case: rows of one day's file relabelled with a later date are quarantined
    (date_not_file_date), and the genuine flights they imitate stay clean, in a day run and
    in a range run covering both files."""
    source_day, genuine_day = dt.date(2013, 1, 24), dt.date(2013, 1, 28)
    original = _day_file(landing, source_day)
    genuine = _day_file(landing, genuine_day).splitlines()
    imitations = genuine[1:4]  # three genuine flights of the later day, delivered again in the earlier file
    try:
        landing.write_bytes(f"flights/{source_day.isoformat()}.csv", (original + "\n".join(imitations) + "\n").encode())
        # the genuine day first, then the relabelling file's day alone, then both in one range
        for first, last in ((genuine_day, genuine_day), (source_day, source_day), (source_day, genuine_day)):
            assert run_window(first, last, selection=PYTHON_LAYERS).success
            rejected = query(
                warehouse,
                "select failed_rules from quarantine.flights where partition_date between %s and %s",
                (first, last),
            )
            expected = ["date_not_file_date"] * 3 if first == source_day else []
            assert sorted(r[0] for r in rejected) == expected, (first, last)
            genuine_clean = query(
                warehouse, "select count(*) from clean.flights where flight_date = %s", (genuine_day,)
            )
            assert genuine_clean[0][0] == len(genuine) - 1, (first, last)
    finally:
        landing.write_bytes(f"flights/{source_day.isoformat()}.csv", original.encode())
        assert run_window(source_day, source_day, selection=PYTHON_LAYERS).success
