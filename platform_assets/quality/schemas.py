"""Pandera models for the warehouse tables, the single source of truth for their rules.

Each table has two models:

* ``<Table>`` — **ERROR** rules: dtypes, nullability, the grain's uniqueness and cross-column
  rules that must hold for the table to be used at all. Failing them blocks downstream
  assets (dbt included).
* ``<Table>Plausibility`` — **WARN** rules: physical plausibility (wind speeds, temperatures,
  implied aircraft speeds). The real 2013 data breaks some of them; they are reported, not
  blocking.

Column names and dtypes follow :mod:`platform_assets.tables`; units are in the names.
"""

from __future__ import annotations

import pandera.polars as pa
import polars as pl

UTC = pl.Datetime("us", "UTC")
NYC_AIRPORTS = ["EWR", "JFK", "LGA"]


class CleanFlights(pa.DataFrameModel):
    """``clean.flights`` (grain: flight_id). ERROR severity."""

    flight_id: str = pa.Field(unique=True)
    flight_date: pl.Date
    carrier: str = pa.Field(str_matches=r"^[A-Z0-9]{2}$")
    flight_number: pl.Int32 = pa.Field(ge=1)
    tailnum: str = pa.Field(nullable=True)
    origin: str = pa.Field(isin=NYC_AIRPORTS)
    dest: str = pa.Field(str_matches=r"^[A-Z0-9]{3}$")
    sched_dep_at: UTC
    dep_at: UTC = pa.Field(nullable=True)
    sched_arr_at: UTC = pa.Field(nullable=True)
    arr_at: UTC = pa.Field(nullable=True)
    dep_delay_min: pl.Int32 = pa.Field(nullable=True)
    arr_delay_min: pl.Int32 = pa.Field(nullable=True)
    air_time_min: pl.Int32 = pa.Field(nullable=True, gt=0)
    distance_miles: pl.Int32 = pa.Field(gt=0)
    is_cancelled: bool

    @pa.dataframe_check(name="cancelled_flights_have_no_actual_times")
    def cancelled_have_no_actual_times(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(~pl.col("is_cancelled") | (pl.col("dep_at").is_null() & pl.col("arr_at").is_null()))

    @pa.dataframe_check(name="arrival_after_departure")
    def arrival_after_departure(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select((pl.col("arr_at") > pl.col("dep_at")).fill_null(True))

    @pa.dataframe_check(name="scheduled_arrival_after_scheduled_departure")
    def scheduled_arrival_after_departure(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select((pl.col("sched_arr_at") > pl.col("sched_dep_at")).fill_null(True))


class CleanFlightsPlausibility(pa.DataFrameModel):
    """``clean.flights`` physical plausibility. WARN severity."""

    dep_delay_min: pl.Int32 = pa.Field(nullable=True, ge=-120, le=24 * 60)
    arr_delay_min: pl.Int32 = pa.Field(nullable=True, ge=-180, le=24 * 60)
    air_time_min: pl.Int32 = pa.Field(nullable=True, ge=10, le=12 * 60)

    @pa.dataframe_check(name="implied_speed_at_most_650_mph")
    def implied_speed(cls, data: pa.PolarsData) -> pl.LazyFrame:
        speed = pl.col("distance_miles") / (pl.col("air_time_min") / 60)
        return data.lazyframe.select((speed <= 650).fill_null(True))

    @pa.dataframe_check(name="air_time_within_block_time")
    def air_time_within_block(cls, data: pa.PolarsData) -> pl.LazyFrame:
        block = (pl.col("arr_at") - pl.col("dep_at")).dt.total_minutes()
        return data.lazyframe.select((pl.col("air_time_min") <= block).fill_null(True))


class CleanWeather(pa.DataFrameModel):
    """``clean.weather`` (grain: origin, observed_at). ERROR severity."""

    origin: str = pa.Field(isin=NYC_AIRPORTS)
    observed_at: UTC
    observation_date: pl.Date
    temp_f: float = pa.Field(nullable=True)
    dewp_f: float = pa.Field(nullable=True)
    humidity_pct: float = pa.Field(nullable=True)
    wind_dir_deg: pl.Int32 = pa.Field(nullable=True)
    wind_speed_mph: float = pa.Field(nullable=True, ge=0)
    wind_gust_mph: float = pa.Field(nullable=True, ge=0)
    precip_in: float = pa.Field(nullable=True, ge=0)
    pressure_mb: float = pa.Field(nullable=True)
    visibility_mi: float = pa.Field(nullable=True, ge=0)

    class Config:
        unique = ["origin", "observed_at"]


class CleanWeatherPlausibility(pa.DataFrameModel):
    """``clean.weather`` physical plausibility. WARN severity."""

    temp_f: float = pa.Field(nullable=True, ge=-40, le=120)
    dewp_f: float = pa.Field(nullable=True, ge=-60, le=90)
    humidity_pct: float = pa.Field(nullable=True, ge=0, le=100)
    wind_dir_deg: pl.Int32 = pa.Field(nullable=True, ge=0, le=360)
    wind_speed_mph: float = pa.Field(nullable=True, le=150)
    wind_gust_mph: float = pa.Field(nullable=True, le=200)
    precip_in: float = pa.Field(nullable=True, le=5)
    pressure_mb: float = pa.Field(nullable=True, ge=900, le=1100)
    visibility_mi: float = pa.Field(nullable=True, le=10)

    @pa.dataframe_check(name="dew_point_not_above_temperature")
    def dew_point(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select((pl.col("dewp_f") <= pl.col("temp_f") + 0.5).fill_null(True))


class CleanAirlines(pa.DataFrameModel):
    """``clean.airlines`` (grain: carrier). ERROR severity."""

    carrier: str = pa.Field(unique=True, str_matches=r"^[A-Z0-9]{2}$")
    name: str


class CleanAirports(pa.DataFrameModel):
    """``clean.airports`` (grain: faa). ERROR severity: coordinates on the globe, offsets on the clock."""

    faa: str = pa.Field(unique=True, str_matches=r"^[A-Z0-9]{3,4}$")
    name: str
    lat: float = pa.Field(ge=-90, le=90)
    lon: float = pa.Field(ge=-180, le=180)
    alt_ft: pl.Int32 = pa.Field(ge=-1_500, le=15_000)
    utc_offset_hours: pl.Int32 = pa.Field(ge=-12, le=14)


class CleanPlanes(pa.DataFrameModel):
    """``clean.planes`` (grain: tailnum). ERROR severity."""

    tailnum: str = pa.Field(unique=True)
    year_built: pl.Int32 = pa.Field(nullable=True, ge=1903, le=2014)
    engines: pl.Int32 = pa.Field(nullable=True, ge=1, le=8)
    seats: pl.Int32 = pa.Field(nullable=True, ge=1, le=900)
    speed_mph: pl.Int32 = pa.Field(nullable=True, gt=0, le=2_000)


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
            (pl.col("on_time_arrivals") <= pl.col("arrivals_reported")) & (pl.col("arrivals_reported") <= pl.col("flown_flights"))
        )
