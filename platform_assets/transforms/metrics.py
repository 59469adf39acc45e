"""clean flights -> flight_daily_metrics (grain: flight_date x origin x carrier)."""

from __future__ import annotations

import datetime as dt

import polars as pl
from psycopg import sql

from platform_assets.tables import FLIGHT_DAILY_METRICS, TableSpec

ON_TIME_THRESHOLD_MIN = 15


def flight_daily_metrics(flights: pl.LazyFrame | pl.DataFrame) -> pl.DataFrame:
    """Daily per-origin, per-carrier operations metrics.

    Args:
        flights: clean flights (at least flight_date, origin, carrier, is_cancelled,
            dep_delay_min, arr_delay_min).

    Returns:
        One row per (flight_date, origin, carrier) shaped as ``aggregate.flight_daily_metrics``:
        counts of flights, cancelled, flown (departed), arrivals reported (flown with an
        arrival delay) and on-time arrivals (``arr_delay_min <= 15`` among those), plus mean
        and 95th-percentile (linear interpolation, like ``percentile_cont``) departure delay
        of flown flights and arrival delay of reported arrivals, in minutes.
    """
    flown = ~pl.col("is_cancelled")
    dep_delay = pl.col("dep_delay_min").filter(flown).cast(pl.Float64)
    arr_delay = pl.col("arr_delay_min").filter(flown & pl.col("arr_delay_min").is_not_null()).cast(pl.Float64)
    return (
        flights.lazy()
        .group_by("flight_date", "origin", "carrier")
        .agg(
            flights=pl.len(),
            cancelled_flights=pl.col("is_cancelled").sum(),
            flown_flights=flown.sum(),
            arrivals_reported=(flown & pl.col("arr_delay_min").is_not_null()).sum(),
            on_time_arrivals=(flown & (pl.col("arr_delay_min") <= ON_TIME_THRESHOLD_MIN)).sum(),
            mean_dep_delay_min=dep_delay.mean(),
            p95_dep_delay_min=dep_delay.quantile(0.95, interpolation="linear"),
            mean_arr_delay_min=arr_delay.mean(),
            p95_arr_delay_min=arr_delay.quantile(0.95, interpolation="linear"),
        )
        .sort("flight_date", "origin", "carrier")
        .collect()
        .cast(pl.Schema(FLIGHT_DAILY_METRICS.columns))
        .select(FLIGHT_DAILY_METRICS.column_names)
    )


def flight_daily_metrics_sql(flights: TableSpec, first: dt.date, last: dt.date) -> sql.Composed:
    """The same metrics as :func:`flight_daily_metrics`, as a PostgreSQL ``select`` over the clean
    flights table ``flights`` for the dates ``first..last`` (inclusive), its columns in
    ``aggregate.flight_daily_metrics``'s order.

    For a day too large to aggregate in memory: the warehouse groups it where it lies. Means
    ignore nulls like polars' ``mean``; ``percentile_cont`` interpolates linearly like
    ``quantile(..., interpolation="linear")``; an empty group gives null for both.
    """
    flown = "not is_cancelled"
    reported = f"{flown} and arr_delay_min is not null"
    text = f"""
        select flight_date, origin, carrier,
            count(*)::integer as flights,
            count(*) filter (where is_cancelled)::integer as cancelled_flights,
            count(*) filter (where {flown})::integer as flown_flights,
            count(*) filter (where {reported})::integer as arrivals_reported,
            count(*) filter (where {flown} and arr_delay_min <= {ON_TIME_THRESHOLD_MIN})::integer as on_time_arrivals,
            (avg(dep_delay_min) filter (where {flown}))::double precision as mean_dep_delay_min,
            percentile_cont(0.95) within group (order by dep_delay_min) filter (where {flown}) as p95_dep_delay_min,
            (avg(arr_delay_min) filter (where {reported}))::double precision as mean_arr_delay_min,
            percentile_cont(0.95) within group (order by arr_delay_min) filter (where {reported}) as p95_arr_delay_min
        from {{flights}}
        where flight_date between {{first}} and {{last}}
        group by flight_date, origin, carrier
    """
    return sql.SQL(text).format(flights=flights.identifier, first=sql.Literal(first), last=sql.Literal(last))
