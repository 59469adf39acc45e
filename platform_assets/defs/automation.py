"""Jobs, the landing-zone sensor and the daily trigger (Declarative Automation)."""

import dagster as dg

from platform_assets.automation.daily_trigger import daily_automation
from platform_assets.automation.landing_sensor import landing_zone_sensor
from platform_assets.partitions import daily_partitions
from platform_assets.quality.freshness import freshness_checks


@dg.definitions
def automation() -> dg.Definitions:
    # Freshness checks are evaluated by their sensor, not inside runs (see quality/freshness.py).
    freshness = dg.AssetSelection.checks(*freshness_checks())
    main_job = dg.define_asset_job(
        name="main_job",
        selection=dg.AssetSelection.all() - freshness,
        description="Landing zone -> raw -> clean -> aggregate -> dbt marts for a partition or a range, in one run.",
    )
    # Checks-only runs (CI, operators): every asset check, Python and dbt, against what the
    # warehouse already holds for a partition or range; nothing is materialized.
    quality_checks_job = dg.define_asset_job(
        name="quality_checks",
        selection=dg.AssetSelection.all_asset_checks() - freshness,
        partitions_def=daily_partitions,  # checks alone do not let Dagster infer the partitions
        description="Run every asset check for a partition or range without re-materializing.",
    )
    return dg.Definitions(jobs=[main_job, quality_checks_job], sensors=[landing_zone_sensor, daily_automation])
