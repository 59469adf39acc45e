"""Landing-zone sensor: new or re-delivered drops become (ranged) runs of the main job.

Each evaluation lists only the landing files modified since the newest modification time
it has processed (its cursor keeps that high-water mark and the keys seen at exactly that
time). Unchanged files are therefore never processed twice, and a re-delivered file (new
content, new modification time) is. A file copied in with an *old* modification time
(``cp -p``, ``rsync -t``) is not seen: deliver with the current time, as S3 always does.

* A day runs once the drops of every declared daily source (flights and weather here) are
  there; a day with only some is reported as waiting and runs when the others land.
* New days are grouped into runs of consecutive days, each one ranged run (every asset has
  a single-run backfill policy), so dropping a month gives one run, not 31.
* ``run_key`` is derived from the versions (key, mtime, size) of the files of the range, so
  even with a reset cursor the same files never start a second run.
* Every new or re-delivered file that follows the contract is reported as a materialization
  of its ``landing/<source>`` partition (file version, size, arrival time) in the same
  evaluation, whether its day runs now or waits for another source's drop.
* Files that break the landing contract (unknown folder or name, bad date, outside the
  partitions) are logged as warnings and named in the evaluation's skip reason.
"""

import datetime as dt
import hashlib
import json
from collections.abc import Iterable

import dagster as dg

from platform_assets.assets.landing import drop_arrived, file_version
from platform_assets.automation.run_priority import new_data_tags
from platform_assets.partitions import partition_bounds
from platform_assets.resources.storage import StorageResource
from platform_assets.sources.contract import CSV_SUFFIXES, classify_landing_keys
from platform_assets.sources.registry import source_specs

#: Longest ranged run the sensor requests; a year of drops becomes a handful of runs.
MAX_DAYS_PER_RUN = 92


def consecutive_ranges(days: Iterable[dt.date], max_days: int = MAX_DAYS_PER_RUN) -> list[tuple[dt.date, dt.date]]:
    """Group dates into sorted runs of consecutive days (inclusive bounds), at most ``max_days`` long."""
    ranges: list[tuple[dt.date, dt.date]] = []
    for day in sorted(set(days)):
        if ranges and day - ranges[-1][1] == dt.timedelta(days=1) and (day - ranges[-1][0]).days < max_days:
            ranges[-1] = (ranges[-1][0], day)
        else:
            ranges.append((day, day))
    return ranges


def evaluate_landing_zone(landing: StorageResource, cursor: str | None, log=None) -> dg.SensorResult:
    """One sensor evaluation: run requests for new complete days, and the advanced cursor.

    Args:
        landing: the landing zone.
        cursor: the previous evaluation's cursor (JSON ``{"mark": iso, "keys_at_mark": [...]}``) or None.
        log: a logger for contract violations and waiting days (optional).

    Returns:
        A ``SensorResult`` with one ``RunRequest`` per range of consecutive ready days
        (tags ``dagster/asset_partition_range_start``/``_end``), one ``AssetMaterialization``
        of ``landing/<source>`` per new or re-delivered file that follows the contract, a
        ``SkipReason`` when there is nothing to run, and the new cursor.
    """
    state = json.loads(cursor) if cursor else {}
    mark = dt.datetime.fromisoformat(state["mark"]) if state.get("mark") else None
    keys_at_mark = set(state.get("keys_at_mark", []))

    # Only what changed since the last evaluation's high-water mark is listed (on S3, with
    # dagster-aws' get_objects and a since_last_modified bound).
    listed = landing.list_with_metadata(since=mark)
    fresh = {k: meta for k, meta in listed.items() if not (meta.modified == mark and k in keys_at_mark)}
    sources = source_specs()
    daily_sources = sorted(name for name, spec in sources.items() if spec.daily)
    inventory = classify_landing_keys(sorted(fresh), *partition_bounds(), sources)
    violations = inventory.violations
    for key, why in violations:
        if log:
            log.warning(f"landing file breaks the contract and is not ingested: {key}: {why}")

    def drop_version(source_name: str, day: dt.date) -> str | None:
        """Version of the day's drop of ``source_name`` (new or already there), None if absent."""
        source = sources[source_name]
        for suffix in CSV_SUFFIXES:
            key = source.daily_key(day, suffix)
            meta = fresh.get(key) or (landing.stat(key) if landing.exists(key) else None)
            if meta:
                return file_version(key, meta)
        return None

    arrived = [drop_arrived(name, key, fresh[key], day) for (name, day), key in sorted(inventory.drops.items())]
    reference_sources = {
        s.reference_key(suffix): s.name for s in sources.values() if not s.daily for suffix in CSV_SUFFIXES
    }
    arrived += [drop_arrived(reference_sources[key], key, fresh[key]) for key in sorted(inventory.reference)]

    touched = sorted({day for (_source, day) in inventory.drops})
    versions = {day: [drop_version(s, day) for s in daily_sources] for day in touched}
    ready = [day for day in touched if all(versions[day])]
    waiting = [day for day in touched if not all(versions[day])]
    for day in waiting:
        if log:
            missing = [s for s, v in zip(daily_sources, versions[day], strict=True) if v is None]
            log.info(f"{day}: waiting for {', '.join(missing)} before running the day")

    requests = []
    for first, last in consecutive_ranges(ready):
        in_range = sorted(v for day in ready if first <= day <= last for v in versions[day] if v is not None)
        run_key = f"landing:{first}..{last}:" + hashlib.sha1("\n".join(in_range).encode()).hexdigest()[:16]
        requests.append(
            dg.RunRequest(
                run_key=run_key,
                tags={
                    "dagster/asset_partition_range_start": first.isoformat(),
                    "dagster/asset_partition_range_end": last.isoformat(),
                    **new_data_tags("landing_zone_sensor"),
                },
            )
        )

    if fresh:
        new_mark = max(meta.modified for meta in fresh.values())
        at_mark = {k for k, meta in fresh.items() if meta.modified == new_mark}
        if mark is not None and new_mark <= mark:
            new_mark, at_mark = mark, at_mark | keys_at_mark
        new_cursor: str | None = json.dumps({"mark": new_mark.isoformat(), "keys_at_mark": sorted(at_mark)})
    else:
        new_cursor = cursor

    skip = None
    if not requests:
        parts = ["no new complete daily drops"]
        if arrived:
            parts.append(f"{len(arrived)} new file(s) reported on the landing assets")
        if waiting:
            parts.append(f"waiting for the other half of {', '.join(map(str, waiting))}")
        if violations:
            parts.append("files breaking the landing contract: " + "; ".join(f"{k} ({why})" for k, why in violations))
        skip = dg.SkipReason("; ".join(parts))
    return dg.SensorResult(run_requests=requests, skip_reason=skip, cursor=new_cursor, asset_events=arrived)


@dg.sensor(
    name="landing_zone_sensor",
    job_name="main_job",
    # Each evaluation lists only what changed since its cursor, so a short interval is cheap
    # and keeps landing -> marts latency low (docs/operations.md).
    minimum_interval_seconds=5,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="New or re-delivered drops in the landing zone -> a materialization of their landing/<source> "
    "partition and one ranged main_job run per range of consecutive complete days. Contract violations are "
    "reported in the evaluation.",
)
def landing_zone_sensor(context: dg.SensorEvaluationContext, landing: StorageResource) -> dg.SensorResult:
    return evaluate_landing_zone(landing, context.cursor, context.log)
