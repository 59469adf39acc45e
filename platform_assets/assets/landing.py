"""landing layer: the producers' drops, as external assets at the root of the lineage.

``landing/<source>`` stands for what an upstream producer delivers to the landing zone:
one file per day for a daily source (a daily-partitioned asset), one file replaced whole for
a reference source. The platform never writes them, so they are external assets (Dagster
``AssetSpec``\\ s without a materialization function): the landing sensor reports each new or
re-delivered file as a materialization of its partition, carrying the file's version, size
and arrival time, in the same evaluation that requests its run. A late drop therefore shows
on ``landing/<source>`` (its freshness check, ``quality/freshness.py``) and not as a failure
of the platform's own assets.
"""

from __future__ import annotations

import datetime as dt

import dagster as dg

from platform_assets.partitions import daily_partitions
from platform_assets.resources.storage import ObjectMeta
from platform_assets.sources.declaration import SourceDeclaration

GROUP = "landing"


def landing_asset_key(source_name: str) -> dg.AssetKey:
    """``landing/<source_name>``: the external asset of a source's landing files."""
    return dg.AssetKey([GROUP, source_name])


def landing_asset(declared: SourceDeclaration) -> dg.AssetSpec:
    """The external asset of ``declared``'s landing files (daily-partitioned for a daily source)."""
    source = declared.source_spec
    if declared.daily:
        delivered = f"one file per day, `{source.folder}/YYYY-MM-DD.csv` (or `.csv.gz`)"
    else:
        delivered = f"one file replaced whole, `{source.reference_key()}`"
    return dg.AssetSpec(
        key=landing_asset_key(declared.name),
        description=f"{declared.name} as the producer drops it in the landing zone: {delivered}. Reported by the "
        "landing_zone_sensor (file version, size, arrival time) when a file arrives or is re-delivered; "
        "never written by the platform.",
        group_name=GROUP,
        owners=declared.owners,
        kinds={"csv"},
        partitions_def=daily_partitions if declared.daily else None,
        metadata={"landing_folder": declared.landing.folder},
    )


def file_version(key: str, meta: ObjectMeta) -> str:
    """A delivered file's version, ``<key>@<modified, ISO 8601 UTC>#<size in bytes>``.

    A re-delivery (new modification time or size) is a new version; the same file listed
    twice is the same version.
    """
    return f"{key}@{meta.modified.isoformat()}#{meta.size}"


def drop_arrived(source_name: str, key: str, meta: ObjectMeta, day: dt.date | None = None) -> dg.AssetMaterialization:
    """The materialization reporting that ``key`` arrived for ``landing/<source_name>``.

    Args:
        source_name: the declared source the file belongs to.
        key: the landing key, e.g. ``flights/2013-01-01.csv``.
        meta: the file's modification time (UTC) and size (bytes) in the landing zone.
        day: the partition (a daily source's date), or None for a reference file.

    Returns:
        An ``AssetMaterialization`` of that partition with the metadata ``file``,
        ``file_version``, ``size_bytes`` and ``arrived_at`` (the file's modification time, UTC).
    """
    return dg.AssetMaterialization(
        asset_key=landing_asset_key(source_name),
        partition=day.isoformat() if day else None,
        description=f"{key} arrived in the landing zone",
        metadata={
            "file": key,
            "file_version": file_version(key, meta),
            "size_bytes": dg.MetadataValue.int(meta.size),
            "arrived_at": dg.MetadataValue.timestamp(meta.modified),
        },
    )
