"""Freshness: is yesterday's partition in the marts (and in each declared source) by the deadline,
and did each producer drop it in the landing zone on time?

"Fresh" for this data: upstream delivers one drop per scheduled-departure day after the
day ends; the daily trigger processes it at 02:00 America/New_York. A mart is fresh when,
at the 06:00 America/New_York deadline, the most recent *complete* daily partition (the
previous day, or the last day of ``PLATFORM_PARTITIONS_END`` for a historical replay such
as the 2013 sample) has been materialized. A late or missing drop, a failed run or a
blocked quality gate all show up here as a missed deadline.

A source that declares ``freshness:`` gets two checks: ``clean_<name>`` by its
``deadline_cron`` (the platform's side) and ``landing/<name>`` by its ``drop_deadline_cron``
(the producer's side, from the arrivals the landing sensor reports). A late drop fails the
second; a drop that landed on time but was not processed fails only the first.

The checks are Dagster's time-partition freshness checks, evaluated by their sensor (on
whenever the daemon runs) rather than in every run: a one-day run of a past date says
nothing about whether today's data arrived. Dagster marks these builders as superseded by
``FreshnessPolicy``; we keep them on purpose: a policy judges the *last materialization
time*, so re-running any old day would make a mart look fresh, whereas the partition check
asks whether the *latest day* is there.
"""

import functools
import warnings

import dagster as dg

from platform_assets.assets.landing import landing_asset_key
from platform_assets.partitions import SOURCE_TIMEZONE
from platform_assets.sources.registry import declarations

#: The partitioned dbt marts people read.
FRESH_MARTS = ["fct_flights", "mart_carrier_daily_performance", "mart_weather_delay"]
FRESHNESS_DEADLINE_CRON = "0 6 * * *"


def fresh_sources() -> list[str]:
    """The clean assets of the daily sources that declare ``freshness:`` in their YAML."""
    return [f"clean_{d.name}" for d in declarations().values() if d.daily and d.freshness is not None]


def watched_drops() -> list[str]:
    """The landing assets (``landing/<name>``) of the daily sources that declare ``freshness:``."""
    return [landing_asset_key(d.name).to_user_string() for d in declarations().values() if d.daily and d.freshness]


@functools.cache
def freshness_checks() -> list[dg.AssetChecksDefinition]:
    """The marts' checks (:data:`FRESH_MARTS`, 06:00 America/New_York) and each declaring
    source's (its clean table, at its own deadline, in its own time zone). Built once per
    process, from the declarations Dagster loads."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.SupersessionWarning)  # see the module docstring
        checks = list(
            dg.build_time_partition_freshness_checks(
                assets=[dg.AssetKey(name) for name in FRESH_MARTS],
                deadline_cron=FRESHNESS_DEADLINE_CRON,
                timezone=SOURCE_TIMEZONE,
                severity=dg.AssetCheckSeverity.WARN,
            )
        )
        for declared in declarations().values():
            if declared.daily and declared.freshness is not None:
                checks += dg.build_time_partition_freshness_checks(
                    assets=[dg.AssetKey(f"clean_{declared.name}")],
                    deadline_cron=declared.freshness.deadline_cron,
                    timezone=declared.local_timezone,
                    severity=dg.AssetCheckSeverity.WARN,
                )
                # The producer's side: has the drop landed (reported by the landing sensor)?
                checks += dg.build_time_partition_freshness_checks(
                    assets=[landing_asset_key(declared.name)],
                    deadline_cron=declared.freshness.drop_deadline_cron,
                    timezone=declared.local_timezone,
                    severity=dg.AssetCheckSeverity.WARN,
                )
    return checks


@functools.cache
def freshness_sensor() -> dg.SensorDefinition:
    """Dagster's sensor evaluating :func:`freshness_checks` every 15 minutes."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.SupersessionWarning)
        return dg.build_sensor_for_freshness_checks(
            freshness_checks=freshness_checks(),
            name="marts_freshness_sensor",
            minimum_interval_seconds=15 * 60,
            default_status=dg.DefaultSensorStatus.RUNNING,
        )
