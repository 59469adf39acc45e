"""The single Dagster ``Definitions`` of the platform (loaded by ``dagster dev``,
``dagster asset materialize -m platform_assets.definitions`` and ``workspace.yaml``).

Configuration comes from the environment through resources (see README "Configuration"):
``PLATFORM_WAREHOUSE_URL`` (unset: embedded PostgreSQL under ``.platform/``),
``PLATFORM_LANDING_URL`` (default ``./data/landing``), ``PLATFORM_LAKE_URL`` (default ``./data/lake``).
"""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg

from platform_assets.alerts.notifier import AlertResource
from platform_assets.alerts.sensors import check_failure_alerts, run_failure_alerts
from platform_assets.assets.aggregate import AGGREGATE_ASSETS
from platform_assets.assets.dbt import DBT_ASSETS, dbt_resource
from platform_assets.automation.landing_sensor import landing_zone_sensor
from platform_assets.automation.schedules import daily_previous_day
from platform_assets.executor import platform_executor
from platform_assets.partitions import daily_partitions
from platform_assets.quality.checks import QUALITY_CHECKS
from platform_assets.quality.freshness import FRESHNESS_CHECKS, FRESHNESS_SENSOR
from platform_assets.resources.storage import StorageResource
from platform_assets.resources.warehouse import WarehouseResource


def env_or_default(name: str, default: str) -> str | dg.EnvVar:
    """``EnvVar(name)`` when the variable is set (resolved at run time, never stored in run
    config), else the local default."""
    return dg.EnvVar(name) if os.getenv(name) else default


# Freshness checks are evaluated by their sensor, not inside runs (see quality/freshness.py).
WITHOUT_FRESHNESS = dg.AssetSelection.all() - dg.AssetSelection.checks(*FRESHNESS_CHECKS)

main_job = dg.define_asset_job(
    name="main_job",
    selection=WITHOUT_FRESHNESS,
    description="Landing zone -> raw -> clean -> aggregate -> dbt marts for a partition or a range, in one run.",
)

# Checks-only runs (CI, operators): every asset check, Python and dbt, against what the
# warehouse already holds for a partition or range; nothing is materialized.
quality_checks_job = dg.define_asset_job(
    name="quality_checks",
    selection=dg.AssetSelection.all_asset_checks() - dg.AssetSelection.checks(*FRESHNESS_CHECKS),
    partitions_def=daily_partitions,  # checks alone do not let Dagster infer the partitions
    description="Run every asset check for a partition or range without re-materializing.",
)


def _handwritten() -> dg.Definitions:
    """Everything not declared as a component: aggregate layer, dbt, automation, jobs, resources.

    The sources' raw and clean assets and their checks come from their YAML
    (``platform_assets/defs/sources/*/defs.yaml``, the LandingSource component).
    """
    return dg.Definitions(
        assets=[*AGGREGATE_ASSETS, *DBT_ASSETS],
        asset_checks=[*QUALITY_CHECKS, *FRESHNESS_CHECKS],
        sensors=[landing_zone_sensor, FRESHNESS_SENSOR, run_failure_alerts, check_failure_alerts],
        schedules=[daily_previous_day],
        jobs=[main_job, quality_checks_job],
        executor=platform_executor(),
        resources={
            "warehouse": WarehouseResource(url=env_or_default("PLATFORM_WAREHOUSE_URL", "")),
            "landing": StorageResource(url=env_or_default("PLATFORM_LANDING_URL", "data/landing")),
            "lake": StorageResource(url=env_or_default("PLATFORM_LAKE_URL", "data/lake")),
            "alerts": AlertResource(
                ui_url=env_or_default("PLATFORM_UI_URL", "http://127.0.0.1:3000"),
                slack_token=env_or_default("SLACK_BOT_TOKEN", ""),
                slack_channel=env_or_default("PLATFORM_SLACK_CHANNEL", "#data-platform-alerts"),
                webhook_url=env_or_default("PLATFORM_ALERT_WEBHOOK_URL", ""),
                smtp_host=env_or_default("PLATFORM_SMTP_HOST", ""),
                smtp_port=int(os.getenv("PLATFORM_SMTP_PORT", "25")),
                smtp_from=env_or_default("PLATFORM_SMTP_FROM", "dagster@localhost"),
                smtp_to=env_or_default("PLATFORM_ALERT_EMAIL_TO", ""),
            ),
            "dbt": dbt_resource(),
        },
    )


# One Definitions: the hand-written assets above plus every component declared under
# platform_assets/defs/ (sources in YAML). `dagster -m platform_assets.definitions` and dg load this.
defs = dg.Definitions.merge(_handwritten(), dg.load_from_defs_folder(path_within_project=Path(__file__).parent))
