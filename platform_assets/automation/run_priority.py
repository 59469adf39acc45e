"""Run priority: runs for newly landed data go ahead of backfills and manual runs.

Dagster's queued run coordinator starts queued runs by their ``dagster/priority`` tag, highest
first (runs without the tag have priority 0: backfills, ranges launched by hand or from the
CLI). The landing sensor's and the daily trigger's runs carry :data:`NEW_DATA_PRIORITY`, so a
day that lands while a long backfill is queued runs before the backfill's next run.
"""

from __future__ import annotations

#: ``dagster/priority`` of the runs the landing sensor and the daily trigger request.
NEW_DATA_PRIORITY = 10
PRIORITY_TAG = "dagster/priority"
TRIGGER_TAG = "platform/trigger"


def new_data_tags(trigger: str) -> dict[str, str]:
    """Tags of a run that processes newly landed data: its trigger (``landing_zone_sensor``,
    ``daily_automation``) and :data:`NEW_DATA_PRIORITY`."""
    return {TRIGGER_TAG: trigger, PRIORITY_TAG: str(NEW_DATA_PRIORITY)}
