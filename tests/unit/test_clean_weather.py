"""clean_weather on real rows: the DST fall-back hour, the date/file rules, typing."""

from __future__ import annotations

import datetime as dt

import polars as pl

from platform_assets.sources.registry import declaration


def clean_weather(raw):
    return declaration("weather").clean(raw)


def test_every_observation_is_kept(raw_weather_year):
    split = clean_weather(raw_weather_year)
    assert split.valid.height + split.rejected.height == raw_weather_year.height
    assert split.rejected.height == 0
    assert split.valid.select("origin", "observed_at").is_unique().all()


def test_repeated_local_hour_at_dst_end_is_two_observations(raw_weather_year):
    repeated = raw_weather_year.filter(
        pl.col("origin") == "EWR", pl.col("month") == "11", pl.col("day") == "3", pl.col("hour") == "1"
    )
    assert repeated.height == 2  # the source repeats local 01:00 on 2013-11-03
    valid = clean_weather(repeated).valid
    assert sorted(valid["observed_at"].to_list()) == [
        dt.datetime(2013, 11, 3, 5, tzinfo=dt.UTC),
        dt.datetime(2013, 11, 3, 6, tzinfo=dt.UTC),
    ]
    assert valid["observation_date"].to_list() == [dt.date(2013, 11, 3)] * 2


def test_rows_that_disagree_with_time_hour_or_file_are_quarantined(raw_weather_year):
    day = raw_weather_year.filter(pl.col("month") == "2", pl.col("day") == "1").with_columns(
        file_date=pl.lit(dt.date(2013, 2, 1))
    )
    first, second, third = day["source_row"].to_list()[:3]
    broken = day.with_columns(
        hour=pl.when(pl.col("source_row") == first).then(pl.lit("13")).otherwise("hour"),
        temp=pl.when(pl.col("source_row") == second).then(pl.lit("warm")).otherwise("temp"),
        file_date=pl.when(pl.col("source_row") == third).then(pl.lit(dt.date(2013, 2, 2))).otherwise("file_date"),
    )
    split = clean_weather(broken)
    assert split.valid.height + split.rejected.height == day.height
    reasons = dict(zip(split.rejected["source_row"].to_list(), split.rejected["failed_rules"].to_list(), strict=True))
    assert reasons == {first: "local_time_mismatch", second: "temp_not_numeric", third: "date_not_file_date"}
