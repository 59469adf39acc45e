"""The daily trigger as Declarative Automation: at 02:00 America/New_York, the latest day
through the marts, once that day's drops have landed.

Every daily-partitioned asset from ``raw_<source>`` to the marts carries
:func:`daily_condition`; Dagster's automation sensor :data:`daily_automation` evaluates it.
After the 02:00 tick, the latest complete day of an asset is requested as soon as each of its
dependencies has that day (or is requested in the same evaluation): for ``raw_<source>`` the
dependency is ``landing/<source>``, whose day exists once the landing sensor (or
``platform-assets report-landing``) has reported the drop. A drop that is late therefore
waits, and its day runs in the first evaluation after it lands; the UI's automation page
shows, per asset, which part of the condition is false. A day is requested once per tick.

The landing sensor stays the trigger for new drops: it polls every 5 s (landing -> marts in
seconds) and runs any day or range that lands, where automation conditions consider only
the latest day.
"""

from __future__ import annotations

import dagster as dg

from platform_assets.automation.run_priority import new_data_tags
from platform_assets.partitions import SOURCE_TIMEZONE

#: When the previous day's drops are due (America/New_York).
DAILY_CRON = "0 2 * * *"


def daily_condition() -> dg.AutomationCondition:
    """The latest day, after the 02:00 tick, once every dependency has it (or is requested with it)."""
    day_ready = dg.AutomationCondition.all_deps_match(
        ~dg.AutomationCondition.missing() | dg.AutomationCondition.will_be_requested()
    ).with_label("every dependency has the day (or runs now)")
    # annotated as the unparameterized condition: Dagster's generics make mypy reject the chain
    tick: dg.AutomationCondition = dg.AutomationCondition.cron_tick_passed(DAILY_CRON, SOURCE_TIMEZONE)
    latest: dg.AutomationCondition = dg.AutomationCondition.in_latest_time_window()
    return (latest & tick.since_last_handled() & day_ready & ~dg.AutomationCondition.in_progress()).with_label(
        f"daily at {DAILY_CRON} {SOURCE_TIMEZONE} once the day has landed"
    )


daily_automation = dg.AutomationConditionSensorDefinition(
    name="daily_automation",
    target=dg.AssetSelection.all(),
    run_tags=new_data_tags("daily_automation"),
    default_status=dg.DefaultSensorStatus.STOPPED,
    minimum_interval_seconds=60,
    # plain runs (with the tags above), not asset backfills
    emit_backfills=False,
    description="Declarative Automation: at 02:00 America/New_York the latest day through the marts, once the "
    "day's drops have landed (landing/<source> reported); a late drop runs when it lands.",
)
