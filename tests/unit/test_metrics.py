"""flight_daily_metrics against an independent computation in plain Python."""

from __future__ import annotations

import statistics

import polars as pl
import pytest

from platform_assets.transforms.clean_flights import clean_flights
from platform_assets.transforms.metrics import flight_daily_metrics


@pytest.fixture(scope="module")
def july_4(raw_flights_year, clean_airports):
    raw = raw_flights_year.filter(pl.col("month") == "7", pl.col("day") == "4")
    return raw, flight_daily_metrics(clean_flights(raw, clean_airports).valid)


def test_grain_is_day_origin_carrier(july_4):
    raw, metrics = july_4
    assert metrics.select("flight_date", "origin", "carrier").is_unique().all()
    assert metrics["flights"].sum() == raw.height


def test_figures_match_plain_python_on_source_text(july_4):
    raw, metrics = july_4
    for group in metrics.iter_rows(named=True):
        rows = raw.filter(pl.col("origin") == group["origin"], pl.col("carrier") == group["carrier"]).to_dicts()
        flown = [r for r in rows if r["dep_time"] is not None]
        arr = [int(r["arr_delay"]) for r in flown if r["arr_delay"] is not None]
        dep = [int(r["dep_delay"]) for r in flown]
        assert group["flights"] == len(rows)
        assert group["cancelled_flights"] == len(rows) - len(flown)
        assert group["flown_flights"] == len(flown)
        assert group["arrivals_reported"] == len(arr)
        assert group["on_time_arrivals"] == sum(d <= 15 for d in arr)
        if len(dep) >= 2:
            assert group["mean_dep_delay_min"] == pytest.approx(statistics.fmean(dep))
            # 'inclusive' quantiles are the linear interpolation percentile_cont uses
            assert group["p95_dep_delay_min"] == pytest.approx(statistics.quantiles(dep, n=20, method="inclusive")[-1])
        if len(arr) >= 2:
            assert group["p95_arr_delay_min"] == pytest.approx(statistics.quantiles(arr, n=20, method="inclusive")[-1])
