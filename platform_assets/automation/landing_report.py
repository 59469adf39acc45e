"""Record the landing zone's files on the landing assets without the daemon.

The landing sensor reports each arrival as a materialization of ``landing/<source>`` when
the daemon runs. A deployment driven from the CLI only (``make run``, ``dagster asset
materialize``) has no sensor ticks, so ``platform-assets report-landing`` records the same
events from one pass over the landing zone. Only versions not recorded yet are reported, so
running it again records nothing new, and a re-delivered file is recorded once more.
"""

from __future__ import annotations

import dagster as dg

from platform_assets.assets.landing import landing_asset_key
from platform_assets.automation.landing_sensor import evaluate_landing_zone
from platform_assets.resources.storage import StorageResource
from platform_assets.sources.registry import source_specs

#: Materialization records read per query when looking up what is already recorded.
PAGE = 1000


def recorded_versions(instance: dg.DagsterInstance, source_name: str) -> dict[str | None, str]:
    """The latest recorded ``file_version`` of each partition of ``landing/<source_name>``.

    Returns:
        partition key (None for a reference file) -> file version, from the instance's
        materialization records of the landing asset.
    """
    latest: dict[str | None, str] = {}
    cursor = None
    while True:
        page = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=landing_asset_key(source_name)), limit=PAGE, cursor=cursor, ascending=True
        )
        for record in page.records:
            event = record.asset_materialization
            version = event.metadata.get("file_version") if event else None
            if event is not None and version is not None:
                latest[event.partition] = str(version.value)
        if not page.has_more:
            return latest
        cursor = page.cursor


def report_landing(instance: dg.DagsterInstance, landing: StorageResource) -> list[dg.AssetMaterialization]:
    """Record every landing file whose version is not recorded yet on its landing asset.

    Args:
        instance: the Dagster instance the UI and the daemon read.
        landing: the landing zone.

    Returns:
        The materializations recorded (those of files already recorded at the same version
        are left out).
    """
    arrived = evaluate_landing_zone(landing, cursor=None).asset_events
    known = {name: recorded_versions(instance, name) for name in source_specs()}
    new = []
    for event in arrived:
        assert isinstance(event, dg.AssetMaterialization)  # the sensor reports materializations only
        version = str(event.metadata["file_version"].value)
        if known[event.asset_key.path[-1]].get(event.partition) != version:
            instance.report_runless_asset_event(event)
            new.append(event)
    return new
