"""The daily partitions every partitioned asset shares.

A partition is one calendar day of *scheduled departure* (flights) or *observation*
(weather), in America/New_York local time, which is how the upstream names its drops.
Start and end are configurable so a deployment can extend the range without code
changes: ``PLATFORM_PARTITIONS_START`` (default 2013-01-01) and
``PLATFORM_PARTITIONS_END`` (exclusive, default 2014-01-01).

Every partitioned asset also shares one backfill policy (Dagster runs assets with the same
policy in the same runs), set per process by ``PLATFORM_BACKFILL_PARTITIONS_PER_RUN``:

* ``0`` (the default): ``BackfillPolicy.single_run()``, a backfill of any range is one run.
  Dagster's CLI accepts ``--partition-range`` only under this policy, so the CLI keeps it.
* ``N > 0``: ``BackfillPolicy.multi_run(N)``, a backfill launched from the UI (or any
  backfill the daemon runs) is split into runs of at most N consecutive days, each retried,
  listed and reported on its own. ``make dev``, the Docker stack and the Helm values set it
  for the processes serving the UI and the daemon.

The policy only decides how the daemon splits a backfill; a run's steps read their window
from the run's range tags alike under both, so the same code runs a day, a chunk or a year.
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


#: Variable holding the largest number of days one run of a backfill covers (0: no limit).
BACKFILL_PARTITIONS_VAR = "PLATFORM_BACKFILL_PARTITIONS_PER_RUN"


def backfill_policy_from_env() -> dg.BackfillPolicy:
    """The backfill policy of every partitioned asset, from ``PLATFORM_BACKFILL_PARTITIONS_PER_RUN``.

    Returns:
        ``BackfillPolicy.single_run()`` when the variable is unset, empty or ``0``;
        ``BackfillPolicy.multi_run(N)`` (at most N daily partitions per run) for ``N > 0``.

    Raises:
        ValueError: the value is not a non-negative integer (the message names the variable).
    """
    text = os.getenv(BACKFILL_PARTITIONS_VAR, "").strip() or "0"
    try:
        per_run = int(text)
    except ValueError:
        per_run = -1
    if per_run < 0:
        raise ValueError(
            f"{BACKFILL_PARTITIONS_VAR}={text!r}: expected the largest number of days a backfill run "
            "covers, a whole number >= 1, or 0 for the whole range in one run"
        )
    if per_run == 0:
        return dg.BackfillPolicy.single_run()
    return dg.BackfillPolicy.multi_run(max_partitions_per_run=per_run)


#: The policy of every partitioned asset in this process (read once, at import, like the range).
BACKFILL_POLICY = backfill_policy_from_env()


def partition_bounds() -> tuple[dt.date, dt.date]:
    """First and last date (inclusive) of the daily partitions."""
    first = dt.date.fromisoformat(PARTITIONS_START)
    return first, dt.date.fromisoformat(PARTITIONS_END) - dt.timedelta(days=1)
