"""raw layer: landing-zone CSV drops -> parquet in the lake, parsed faithfully with lineage.

Lake layout: ``raw/<source>/YYYY-MM-DD.parquet`` for daily sources (one file per day, so
re-running a day replaces exactly that day) and ``raw/reference/<name>.parquet``. A landing
file is read a batch of lines at a time and each batch becomes one row group of the lake
file (:mod:`platform_assets.chunking`), so a day of any size is parsed in the memory of a
batch; the lake file is replaced only once the whole landing file is parsed.
"""

import datetime as dt
from dataclasses import dataclass

import dagster as dg
import polars as pl

from platform_assets.assets.common import (
    TRANSIENT_RETRY,
    add_partition_metadata,
    add_run_metadata,
    preview,
    window_dates,
    window_metadata,
)
from platform_assets.assets.landing import landing_asset_key
from platform_assets.automation.daily_trigger import daily_condition
from platform_assets.chunking import batch_rows, parallel_days, prefetch_one
from platform_assets.executor import HEAVY_STEP_TAGS
from platform_assets.observability.step_cost import measure_step
from platform_assets.partitions import BACKFILL_POLICY, daily_partitions
from platform_assets.resources.storage import StorageResource
from platform_assets.sources.contract import CSV_SUFFIXES, LandingContractError, SourceSpec
from platform_assets.sources.declaration import SourceDeclaration
from platform_assets.transforms.parse import empty_raw_frame, iter_landing_batches, raw_schema

GROUP = "raw"


def raw_lake_key(source: SourceSpec, day: dt.date | None = None) -> str:
    """Lake key of a raw parquet file: ``raw/flights/2013-01-01.parquet`` or ``raw/reference/planes.parquet``."""
    if day is None:
        return f"raw/{source.folder}/{source.file or source.name}.parquet"
    return f"raw/{source.folder}/{day.isoformat()}.parquet"


def find_landing_file(landing: StorageResource, candidates: list[str]) -> str | None:
    """The one existing key among ``candidates`` (``.csv`` / ``.csv.gz`` spellings), or None.

    Raises:
        dg.Failure: both spellings exist, so the drop is ambiguous (not retried).
    """
    present = [k for k in candidates if landing.exists(k)]
    if len(present) > 1:
        raise dg.Failure(f"ambiguous drop: both {present} exist in the landing zone; remove one", allow_retries=False)
    return present[0] if present else None


@dataclass
class _Written:
    """What writing one landing file to the lake produced."""

    rows: int = 0
    dead_letters: int = 0
    bytes_read: int = 0
    bytes_written: int = 0
    sample: pl.DataFrame | None = None


def _write_landing_file(
    landing: StorageResource,
    lake: StorageResource,
    key: str,
    lake_key: str,
    source: SourceSpec,
    day: dt.date | None,
    now: dt.datetime,
) -> _Written:
    """Parse landing ``key`` a batch of lines at a time into the row groups of parquet ``lake_key``.

    Memory holds one batch (:func:`platform_assets.chunking.batch_rows` rows). The lake file
    is replaced only when the whole landing file is parsed.

    Raises:
        dg.Failure: the file breaks the landing contract (named with its partition; not retried).
    """
    delivered = landing.stat(key)  # one look-up (an S3 HEAD) for the landing time and the size
    written = _Written(bytes_read=delivered.size)

    def batches():
        with landing.open_binary(key) as stream:
            for frame in iter_landing_batches(
                stream,
                source=source,
                source_file=key,
                landed_at=delivered.modified,
                ingested_at=now,
                file_date=day,
                batch_rows=batch_rows(),
            ):
                written.rows += frame.height
                written.dead_letters += int(frame["parse_error"].is_not_null().sum())
                if written.sample is None and frame.height:
                    written.sample = frame.head(5)
                yield frame

    try:
        # the next batch is parsed on a worker thread while this one is compressed and written
        written.bytes_written = lake.write_parquet_batches(lake_key, prefetch_one(batches()))
    except LandingContractError as exc:
        partition = f" (partition {day})" if day else ""
        raise dg.Failure(f"{exc}{partition}", allow_retries=False) from exc
    return written


def _column_schema(source: SourceSpec) -> dg.TableSchema:
    return dg.TableSchema(columns=[dg.TableColumn(name, str(dtype)) for name, dtype in raw_schema(source).items()])


def _daily_raw_asset(declared: SourceDeclaration) -> dg.AssetsDefinition:
    source = declared.source_spec
    missing_is_error = declared.landing.missing_drop == "fail"
    if missing_is_error:
        on_missing = "A missing day's drop fails the run."
    else:
        on_missing = "A day without a drop is written empty and reported."

    @dg.asset(
        name=f"raw_{source.name}",
        description=f"{source.name} as delivered: one landing file per day (`{source.folder}/YYYY-MM-DD.csv`), "
        f"every column kept as text with lineage columns, one parquet file per day in the lake. {on_missing}",
        group_name=GROUP,
        owners=declared.owners,
        kinds={"polars", "parquet"},
        code_version=declared.code_version,
        deps=[landing_asset_key(source.name)],
        partitions_def=daily_partitions,
        automation_condition=daily_condition(),
        backfill_policy=BACKFILL_POLICY,
        retry_policy=TRANSIENT_RETRY,
        metadata={"dagster/column_schema": _column_schema(source)},
        op_tags=HEAVY_STEP_TAGS if declared.heavy else None,
    )
    def _asset(
        context: dg.AssetExecutionContext, landing: StorageResource, lake: StorageResource
    ) -> dg.MaterializeResult:
        now = dt.datetime.now(dt.UTC)
        dates = window_dates(context)
        keys = {day: find_landing_file(landing, [source.daily_key(day, s) for s in CSV_SUFFIXES]) for day in dates}
        missing = [day for day, key in keys.items() if key is None]
        if missing and missing_is_error:
            shown = ", ".join(map(str, missing[:10])) + (" ..." if len(missing) > 10 else "")
            raise dg.Failure(
                f"{len(missing)} partition(s) have no {source.folder}/YYYY-MM-DD.csv drop in {landing.uri('')}: {shown}. "
                "Publish the drops (e.g. `platform-assets publish-sample`) or narrow the partition range.",
                allow_retries=False,
            )
        if missing:
            context.log.warning(
                f"no {source.name} drop for {len(missing)} day(s): {missing[:10]}; writing empty partitions"
            )

        def load(day: dt.date, key: str | None) -> tuple[dt.date, str | None, int, _Written]:
            if key is None:
                frame = empty_raw_frame(source)
                return day, key, 0, _Written(bytes_written=lake.write_parquet(raw_lake_key(source, day), frame))
            written = _write_landing_file(landing, lake, key, raw_lake_key(source, day), source, day, now)
            return day, key, written.bytes_read, written

        rows = 0
        bytes_written = 0
        sample = None
        per_day = {}
        with measure_step() as cost:
            for day, key, size_read, written in parallel_days(load, keys.items()):
                bytes_written += written.bytes_written
                rows += written.rows
                cost.bytes_read += size_read
                per_day[day] = {
                    "dagster/row_count": written.rows,
                    "rows_out": written.rows,
                    "dead_letters": written.dead_letters,
                    "source_file": key or "(no drop)",
                    "bytes_read": size_read,
                    "bytes_written": written.bytes_written,
                }
                if sample is None and written.sample is not None:
                    sample = written.sample
        cost.rows_read = cost.rows_written = rows
        cost.bytes_written = bytes_written
        add_partition_metadata(context, per_day)
        add_run_metadata(
            context,
            {
                "preview": preview(sample if sample is not None else empty_raw_frame(source)),
                **cost.metadata(),
            },
        )
        return dg.MaterializeResult(
            metadata={
                **window_metadata(context, rows),
                "files_read": len(dates) - len(missing),
                "missing_drops": dg.MetadataValue.json([str(d) for d in missing]),
                "window_bytes_written": bytes_written,
                "lake_path": lake.uri(f"raw/{source.folder}/"),
            }
        )

    return _asset


def _reference_raw_asset(declared: SourceDeclaration) -> dg.AssetsDefinition:
    source = declared.source_spec

    @dg.asset(
        name=f"raw_{source.name}",
        description=f"Reference table {source.name}: landing `{source.reference_key()}` parsed as text with lineage, "
        f"stored as `{raw_lake_key(source)}` in the lake.",
        group_name=GROUP,
        owners=declared.owners,
        kinds={"polars", "parquet"},
        code_version=declared.code_version,
        deps=[landing_asset_key(source.name)],
        # Unpartitioned, but declared single-run so ranged CLI runs (`--partition-range`) can include
        # it (Dagster allows no other policy on an unpartitioned asset).
        backfill_policy=dg.BackfillPolicy.single_run(),
        retry_policy=TRANSIENT_RETRY,
        metadata={"dagster/column_schema": _column_schema(source)},
    )
    def _asset(landing: StorageResource, lake: StorageResource) -> dg.MaterializeResult:
        key = find_landing_file(landing, [source.reference_key(s) for s in CSV_SUFFIXES])
        if key is None:
            raise dg.Failure(f"missing reference drop {landing.uri(source.reference_key())}", allow_retries=False)
        with measure_step() as cost:
            written = _write_landing_file(
                landing, lake, key, raw_lake_key(source), source, None, dt.datetime.now(dt.UTC)
            )
        cost.rows_read = cost.rows_written = written.rows
        cost.bytes_read, cost.bytes_written = written.bytes_read, written.bytes_written
        return dg.MaterializeResult(
            metadata={
                "dagster/row_count": written.rows,
                "rows_out": written.rows,
                "bytes_written": written.bytes_written,
                "source_file": key,
                "dead_letters": written.dead_letters,
                "preview": preview(written.sample if written.sample is not None else empty_raw_frame(source)),
                **cost.metadata(),
            }
        )

    return _asset


def raw_asset(declared: SourceDeclaration) -> dg.AssetsDefinition:
    """``raw_<source>``: the declared source's landing files as text parquet in the lake."""
    return _daily_raw_asset(declared) if declared.daily else _reference_raw_asset(declared)
