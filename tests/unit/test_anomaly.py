"""Volume anomaly scores on the real 2013 schedule, against a plain-Python computation."""

from __future__ import annotations

import collections
import datetime as dt
import statistics

import polars as pl
import pytest

from platform_assets.quality import anomaly


@pytest.fixture(scope="module")
def counts(raw_flights_year) -> dict[tuple[dt.date, str], int]:
    out: collections.Counter = collections.Counter()
    for year, month, day, origin in raw_flights_year.select("year", "month", "day", "origin").iter_rows():
        out[(dt.date(int(year), int(month), int(day)), origin)] += 1
    return dict(out)


@pytest.fixture(scope="module")
def scores(counts) -> pl.DataFrame:
    daily = pl.DataFrame([{"flight_date": d, "origin": o, "flights": n} for (d, o), n in counts.items()])
    return anomaly.volume_scores(daily, dt.date(2013, 1, 1), dt.date(2013, 12, 31))


def _expected(counts, day: dt.date, origin: str) -> float | None:
    baseline = [
        counts[(day - dt.timedelta(weeks=k), origin)]
        for k in range(1, 9)
        if (day - dt.timedelta(weeks=k), origin) in counts
    ]
    if len(baseline) < 4:
        return None
    median = statistics.median(baseline)
    mad = statistics.median(abs(x - median) for x in baseline)
    return 0.6745 * (counts[(day, origin)] - median) / max(mad, 0.02 * median, 1.0)


@pytest.mark.parametrize(
    "day",
    [dt.date(2013, 1, 10), dt.date(2013, 1, 29), dt.date(2013, 7, 4), dt.date(2013, 10, 16), dt.date(2013, 11, 28)],
)
def test_scores_match_plain_python(scores, counts, day):
    for origin in ("EWR", "JFK", "LGA"):
        row = scores.filter(pl.col("flight_date") == day, pl.col("origin") == origin).row(0, named=True)
        expected = _expected(counts, day, origin)
        if expected is None:
            assert row["score"] is None and not row["is_anomaly"]
        else:
            assert row["score"] == pytest.approx(expected)
            assert row["is_anomaly"] == (abs(expected) > 3.5)


def test_holidays_are_flagged_and_ordinary_weeks_are_not(scores):
    flagged = set(scores.filter("is_anomaly").select("flight_date", "origin").iter_rows())
    thanksgiving = dt.date(2013, 11, 28)
    assert {(thanksgiving, o) for o in ("EWR", "JFK", "LGA")} <= flagged
    assert (dt.date(2013, 7, 4), "LGA") in flagged
    # an ordinary mid-October week raises nothing
    october = {(d, o) for d, o in flagged if dt.date(2013, 10, 14) <= d <= dt.date(2013, 10, 18)}
    assert october == set()
    # a few dozen explainable days out of 1,095, not a flood
    assert 10 < len(flagged) < 100


def test_a_missing_day_scores_as_zero_flights(counts):
    daily = pl.DataFrame(
        [
            {"flight_date": d, "origin": o, "flights": n}
            for (d, o), n in counts.items()
            if not (d == dt.date(2013, 10, 16) and o == "JFK")
        ]
    )
    row = anomaly.volume_scores(daily, dt.date(2013, 10, 16), dt.date(2013, 10, 16)).filter(pl.col("origin") == "JFK")
    assert row["flights"].item() == 0 and row["is_anomaly"].item() and row["score"].item() < -3.5
