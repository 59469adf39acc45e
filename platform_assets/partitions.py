"""The daily partitions every partitioned asset shares.

A partition is one calendar day of *scheduled departure* (flights) or *observation*
(weather), in America/New_York local time, which is how the upstream names its drops.
Start and end are configurable so a deployment can extend the range without code
changes: ``PLATFORM_PARTITIONS_START`` (default 2013-01-01) and
``PLATFORM_PARTITIONS_END`` (exclusive, default 2014-01-01).
"""

from __future__ import annotations

import datetime as dt
import os

import dagster as dg

PARTITIONS_START = os.getenv("PLATFORM_PARTITIONS_START", "2013-01-01")
PARTITIONS_END = os.getenv("PLATFORM_PARTITIONS_END", "2014-01-01")
SOURCE_TIMEZONE = "America/New_York"

daily_partitions = dg.DailyPartitionsDefinition(
    start_date=PARTITIONS_START,
    end_date=PARTITIONS_END,
    timezone=SOURCE_TIMEZONE,
)


def partition_bounds() -> tuple[dt.date, dt.date]:
    """First and last date (inclusive) of the daily partitions."""
    first = dt.date.fromisoformat(PARTITIONS_START)
    return first, dt.date.fromisoformat(PARTITIONS_END) - dt.timedelta(days=1)
