"""Local clock times (HHMM integers in a named time zone) to UTC timestamps."""

from __future__ import annotations

from collections.abc import Iterable

import polars as pl

UTC_TIMESTAMP = pl.Datetime("us", "UTC")
ONE_DAY = pl.duration(days=1)


def clock_minutes(hhmm: pl.Expr) -> pl.Expr:
    """Minutes after local midnight of an HHMM integer; ``2400`` is 1440 (midnight ending the day)."""
    return (hhmm // 100) * 60 + hhmm % 100


def is_valid_clock(hhmm: pl.Expr) -> pl.Expr:
    """True where an HHMM integer is a clock time 0000..2400 with minutes below 60."""
    return hhmm.is_between(0, 2400) & (hhmm % 100 < 60)


def local_to_utc(naive_local: pl.Expr, tz: pl.Expr | str, zones: Iterable[str]) -> pl.Expr:
    """Interpret naive local datetimes in a (per-row) IANA zone and return UTC.

    ``zones`` lists the distinct zone names ``tz`` can take (polars converts one zone per
    expression). Ambiguous wall times (the repeated hour when DST ends) take the earlier
    instant; times that do not exist (the skipped hour when DST starts) become null.
    Rows whose zone is null stay null.
    """
    if isinstance(tz, str):
        return _convert(naive_local, tz)
    result = pl.lit(None, UTC_TIMESTAMP)
    for zone in sorted(set(zones)):
        result = pl.when(tz == zone).then(_convert(naive_local, zone)).otherwise(result)
    return result


def _convert(naive_local: pl.Expr, zone: str) -> pl.Expr:
    return naive_local.dt.replace_time_zone(zone, ambiguous="earliest", non_existent="null").dt.convert_time_zone("UTC")
