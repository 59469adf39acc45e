"""Pandera models of the hand-written (non-source) tables.

The sources' rules are declared in their YAML and compiled to pandera schemas
(:mod:`platform_assets.quality.rule_schema`); the aggregate layer, written by Python, keeps
its model here. ERROR severity: failing it blocks downstream assets (dbt included).
"""

from __future__ import annotations

import pandera.polars as pa
import polars as pl

NYC_AIRPORTS = ["EWR", "JFK", "LGA"]


class FlightDailyMetrics(pa.DataFrameModel):
    """``aggregate.flight_daily_metrics`` (grain: flight_date, origin, carrier). ERROR severity."""

    flight_date: pl.Date
    origin: str = pa.Field(isin=NYC_AIRPORTS)
    carrier: str
    flights: pl.Int32 = pa.Field(gt=0)
    cancelled_flights: pl.Int32 = pa.Field(ge=0)
    flown_flights: pl.Int32 = pa.Field(ge=0)
    arrivals_reported: pl.Int32 = pa.Field(ge=0)
    on_time_arrivals: pl.Int32 = pa.Field(ge=0)

    class Config:
        unique = ["flight_date", "origin", "carrier"]

    @pa.dataframe_check(name="flights_are_cancelled_plus_flown")
    def counts_add_up(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col("flights") == pl.col("cancelled_flights") + pl.col("flown_flights"))

    @pa.dataframe_check(name="on_time_within_reported_within_flown")
    def nested_counts(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(
            (pl.col("on_time_arrivals") <= pl.col("arrivals_reported"))
            & (pl.col("arrivals_reported") <= pl.col("flown_flights"))
        )
