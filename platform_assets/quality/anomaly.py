"""Volume anomalies: is a day's flight count at an origin unusual for that weekday?

The baseline of a day is the same weekday in the previous :data:`BASELINE_WEEKS` weeks
(Mondays are compared with Mondays: schedules are weekly). The score is the robust
z-score of Iglewicz and Hoaglin, ``0.6745 * (flights - median) / MAD``, where MAD is the
median absolute deviation of the baseline (floored, see :data:`MAD_FLOOR_SHARE`): a few odd weeks in the baseline (a holiday, a
storm) do not move it the way they move a mean and standard deviation. A day is an
anomaly when ``|score| > ANOMALY_THRESHOLD`` (3.5, the authors' recommendation).
"""

import datetime as dt

import polars as pl

BASELINE_WEEKS = 8
MIN_BASELINE_DAYS = 4
ANOMALY_THRESHOLD = 3.5
#: MAD floor as a share of the baseline median. Airline schedules are so regular that the
#: MAD is often 0-2 flights, which would flag every schedule change of a few flights; with
#: the floor, a day must differ from its weekday's median by more than about 10%
#: (3.5 / 0.6745 * 2%) to be flagged.
MAD_FLOOR_SHARE = 0.02


def volume_scores(daily: pl.DataFrame, first: dt.date, last: dt.date) -> pl.DataFrame:
    """Score each (day, origin) of ``first..last`` against its trailing same-weekday baseline.

    Args:
        daily: ``flight_date`` (Date), ``origin`` (String), ``flights`` (integer): scheduled
            flights per day and origin, covering at least ``first - 8 weeks .. last``.
            A (day, origin) missing from ``daily`` counts as 0 flights only inside the
            window; missing baseline days are left out of the baseline.
        first, last: the window to score (inclusive).

    Returns:
        One row per (flight_date, origin) in the window with ``flights``,
        ``baseline_days`` (UInt32), ``baseline_median``, ``baseline_mad``, ``score``
        (Float64; null when fewer than :data:`MIN_BASELINE_DAYS` baseline days) and
        ``is_anomaly`` (Boolean, false when there is no score), sorted by date and origin.
    """
    daily = daily.select(
        pl.col("flight_date").cast(pl.Date), pl.col("origin").cast(pl.String), pl.col("flights").cast(pl.Float64)
    )
    days = pl.date_range(first, last, "1d", eager=True).alias("flight_date")
    grid = pl.DataFrame(days).join(daily.select("origin").unique(), how="cross")
    scored = grid.join(daily, on=["flight_date", "origin"], how="left").with_columns(pl.col("flights").fill_null(0.0))
    lags = pl.concat(
        [
            scored.select("flight_date", "origin", baseline_date=pl.col("flight_date") - pl.duration(weeks=k))
            for k in range(1, BASELINE_WEEKS + 1)
        ]
    ).join(
        daily.rename({"flight_date": "baseline_date", "flights": "baseline_flights"}),
        on=["baseline_date", "origin"],
        how="inner",
    )
    baseline = lags.group_by("flight_date", "origin").agg(
        baseline_days=pl.len(),
        baseline_median=pl.col("baseline_flights").median(),
        baseline_mad=(pl.col("baseline_flights") - pl.col("baseline_flights").median()).abs().median(),
    )
    return (
        scored.join(baseline, on=["flight_date", "origin"], how="left")
        .with_columns(pl.col("baseline_days").fill_null(0).cast(pl.UInt32))
        .with_columns(
            score=pl.when(pl.col("baseline_days") >= MIN_BASELINE_DAYS).then(
                0.6745
                * (pl.col("flights") - pl.col("baseline_median"))
                / pl.max_horizontal("baseline_mad", MAD_FLOOR_SHARE * pl.col("baseline_median"), pl.lit(1.0))
            )
        )
        .with_columns(is_anomaly=(pl.col("score").abs() > ANOMALY_THRESHOLD).fill_null(False))
        .with_columns(pl.col("flights").cast(pl.Int64))
        .sort("flight_date", "origin")
    )
