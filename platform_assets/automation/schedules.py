"""The daily schedule: at 02:00 America/New_York, run the previous day's partition.

The previous day's drops should have landed by then. When they have not, the tick is
skipped with a reason naming the missing files (the landing-zone sensor runs the day when
they arrive); when the day is outside the partitions, the reason says so.
"""

import datetime as dt
from zoneinfo import ZoneInfo

import dagster as dg

from platform_assets.automation.run_priority import new_data_tags
from platform_assets.partitions import SOURCE_TIMEZONE, partition_bounds
from platform_assets.resources.storage import StorageResource
from platform_assets.sources.contract import CSV_SUFFIXES
from platform_assets.sources.registry import source_specs


def previous_day_request(landing: StorageResource, scheduled_at: dt.datetime) -> dg.RunRequest | dg.SkipReason:
    """The run for the day before ``scheduled_at`` (local time), or why there is none."""
    day = scheduled_at.astimezone(ZoneInfo(SOURCE_TIMEZONE)).date() - dt.timedelta(days=1)
    first, last = partition_bounds()
    if not first <= day <= last:
        return dg.SkipReason(f"{day} is outside the partitions {first}..{last}")
    missing = [
        source.daily_key(day)
        for source in source_specs().values()
        if source.daily
        if not any(landing.exists(source.daily_key(day, suffix)) for suffix in CSV_SUFFIXES)
    ]
    if missing:
        return dg.SkipReason(f"drop for {day} has not landed: missing {', '.join(missing)}")
    return dg.RunRequest(run_key=f"daily:{day}", partition_key=day.isoformat(), tags=new_data_tags("daily_schedule"))


@dg.schedule(
    name="daily_previous_day",
    job_name="main_job",
    cron_schedule="0 2 * * *",
    execution_timezone=SOURCE_TIMEZONE,
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description="02:00 America/New_York: the previous day's partition through the marts; skips with the reason "
    "when that day's drop has not landed.",
)
def daily_previous_day(context: dg.ScheduleEvaluationContext, landing: StorageResource):
    return previous_day_request(landing, context.scheduled_execution_time)
