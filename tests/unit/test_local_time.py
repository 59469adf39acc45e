"""Local wall-clock times in per-row IANA zones -> UTC (``platform_assets.transforms.local_time``)."""

import datetime as dt
from zoneinfo import ZoneInfo

import polars as pl

from platform_assets.transforms.local_time import local_to_utc

UTC = dt.UTC


def _expected(local: dt.datetime | None, zone: str | None) -> dt.datetime | None:
    """The UTC instant by the standard library: earliest of an ambiguous time, None for a skipped one."""
    if local is None or zone is None:
        return None
    tz = ZoneInfo(zone)
    earliest = local.replace(tzinfo=tz, fold=0)
    if earliest.astimezone(UTC).astimezone(tz).replace(tzinfo=None) != local:
        return None  # the hour skipped when DST starts
    return earliest.astimezone(UTC)


def test_each_row_is_converted_in_its_own_zone():
    zones = ["America/New_York", "America/Los_Angeles", "Pacific/Honolulu", "America/Phoenix", "America/Puerto_Rico"]
    start = dt.datetime(2013, 1, 1)
    locals_ = [start + dt.timedelta(minutes=977 * i) for i in range(600)]
    rows = pl.DataFrame(
        {
            "local": locals_,
            "tz": [zones[(i * 7) % len(zones)] for i in range(len(locals_))],
        }
    )

    got = rows.select(local_to_utc(pl.col("local"), pl.col("tz")).alias("utc"))["utc"].to_list()

    assert got == [_expected(local, zone) for local, zone in rows.iter_rows()]


def test_dst_edges_and_missing_zones_per_row():
    rows = pl.DataFrame(
        {
            "local": [
                dt.datetime(2013, 3, 10, 2, 30),  # skipped in New York: null
                dt.datetime(2013, 3, 10, 2, 30),  # Phoenix keeps no DST: exists
                dt.datetime(2013, 11, 3, 1, 30),  # repeated in Chicago: the earlier instant
                dt.datetime(2013, 11, 3, 1, 30),  # repeated in Los Angeles
                dt.datetime(2013, 6, 1, 12, 0),  # no zone: null
                None,
            ],
            "tz": [
                "America/New_York",
                "America/Phoenix",
                "America/Chicago",
                "America/Los_Angeles",
                None,
                "America/Denver",
            ],
        },
        schema={"local": pl.Datetime("us"), "tz": pl.String},
    )

    got = rows.select(local_to_utc(pl.col("local"), pl.col("tz")).alias("utc"))["utc"].to_list()

    assert got == [_expected(local, zone) for local, zone in rows.iter_rows()]
    assert got[0] is None and got[4] is None and got[5] is None
    assert got[2] == dt.datetime(2013, 11, 3, 6, 30, tzinfo=UTC)  # CDT (-5), not CST (-6)
