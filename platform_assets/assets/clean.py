"""clean layer: raw parquet -> typed, validated tables in the warehouse schema ``clean``.

Each asset reads its raw rows for the run's window, splits them into valid rows and
rejected rows (:mod:`platform_assets.transforms.rules`) and writes both, in one
transaction, to ``clean.<table>`` and ``quarantine.<table>``: every raw row lands in
exactly one of the two, and a re-run replaces the window in both. Daily tables are
processed in chunks of whole days (:mod:`platform_assets.chunking`) inside that one
transaction, so memory does not grow with the window.
"""

from collections import Counter

import dagster as dg
import polars as pl

from platform_assets.assets.common import (
    OWNERS,
    TRANSIENT_RETRY,
    preview,
    rule_counts,
    table_metadata,
    window_bounds,
    window_dates,
    window_metadata,
)
from platform_assets.assets.raw import raw_lake_key
from platform_assets.chunking import days_of, plan_chunks
from platform_assets.partitions import daily_partitions
from platform_assets.resources.storage import StorageResource
from platform_assets.resources.warehouse import TableWindow, TableWrite, WarehouseResource, read_window
from platform_assets.sources.contract import AIRLINES, AIRPORTS, FLIGHTS, PLANES, WEATHER, SourceSpec
from platform_assets.tables import CLEAN_AIRPORTS, CLEAN_TABLES, QUARANTINE_TABLES
from platform_assets.transforms.clean_flights import clean_flights as clean_flights_transform
from platform_assets.transforms.clean_reference import clean_reference
from platform_assets.transforms.clean_weather import clean_weather as clean_weather_transform
from platform_assets.transforms.rules import Split

GROUP = "clean"
CODE_VERSION = "1"


def _check_accounted(source: SourceSpec, raw_rows: int, split: Split) -> None:
    """Every raw row of a batch is either valid or rejected (a transform bug otherwise)."""
    if split.valid.height + split.rejected.height != raw_rows:
        raise RuntimeError(
            f"{source.name}: {raw_rows} raw rows but {split.valid.height} clean + {split.rejected.height} quarantined"
        )


def _write(
    warehouse: WarehouseResource, source: SourceSpec, raw_rows: int, split: Split, window=None
) -> dict[str, object]:
    """Write clean + quarantine rows atomically and return the materialization metadata."""
    _check_accounted(source, raw_rows, split)
    clean_spec, quarantine_spec = CLEAN_TABLES[source.name], QUARANTINE_TABLES[source.name]
    replaced = warehouse.replace(
        [TableWrite(clean_spec, split.valid, window), TableWrite(quarantine_spec, split.rejected, window)]
    )
    return {
        "rows_in": raw_rows,
        "rows_quarantined": split.rejected.height,
        "quarantined_by_rule": dg.MetadataValue.json(rule_counts(split.rejected)),
        "rows_replaced": replaced[clean_spec.qualified_name],
        "quarantine_table": quarantine_spec.qualified_name,
        "preview": preview(split.valid),
    }


def _write_in_chunks(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    lake: StorageResource,
    source: SourceSpec,
    transform,
) -> dict[str, object]:
    """Clean the run's window chunk by chunk (whole days, :mod:`platform_assets.chunking`) in one transaction.

    Each chunk's raw parquet files are read, cleaned and loaded before the next is read,
    so memory is bounded by the chunk; the window of ``clean.<table>`` and
    ``quarantine.<table>`` is still replaced atomically. Returns the materialization metadata.

    Raises:
        dg.Failure: a day's raw file is missing from the lake (not retried).
    """
    days = window_dates(context)
    keys = {day: raw_lake_key(source, day) for day in days}
    absent = [k for k in keys.values() if not lake.exists(k)]
    if absent:
        raise dg.Failure(
            f"raw_{source.name} is not materialized for {len(absent)} day(s) of the window, e.g. {absent[:3]}; "
            f"materialize raw_{source.name} for this window first",
            allow_retries=False,
        )
    counts = lake.parquet_row_counts(list(keys.values()))
    chunks = plan_chunks(days[0], days[-1], {day: counts[key] for day, key in keys.items()})
    totals = {"rows_in": 0, "rows_out": 0, "rows_quarantined": 0}
    by_rule: Counter[str] = Counter()
    sample: list[pl.DataFrame] = []

    def batches():
        for chunk in chunks:
            raw = lake.read_parquet([keys[day] for day in days_of(chunk)])
            split = transform(raw, warehouse)
            _check_accounted(source, raw.height, split)
            totals["rows_in"] += raw.height
            totals["rows_out"] += split.valid.height
            totals["rows_quarantined"] += split.rejected.height
            by_rule.update(rule_counts(split.rejected))
            if not sample and split.valid.height:
                sample.append(split.valid.head(5))
            yield [split.valid, split.rejected]

    clean_spec, quarantine_spec = CLEAN_TABLES[source.name], QUARANTINE_TABLES[source.name]
    window = window_bounds(context)
    replaced = warehouse.replace_in_batches(
        [TableWindow(clean_spec, window), TableWindow(quarantine_spec, window)], batches()
    )
    return {
        **window_metadata(context, totals["rows_out"]),
        "rows_in": totals["rows_in"],
        "rows_quarantined": totals["rows_quarantined"],
        "quarantined_by_rule": dg.MetadataValue.json(dict(by_rule.most_common())),
        "rows_replaced": replaced[clean_spec.qualified_name],
        "quarantine_table": quarantine_spec.qualified_name,
        "chunks": len(chunks),
        "preview": preview(sample[0] if sample else pl.DataFrame()),
    }


def _daily_clean_asset(source: SourceSpec, deps: list[str], description: str, transform) -> dg.AssetsDefinition:
    spec = CLEAN_TABLES[source.name]

    @dg.asset(
        name=f"clean_{source.name}",
        description=description,
        group_name=GROUP,
        owners=OWNERS,
        kinds={"polars", "postgres"},
        code_version=CODE_VERSION,
        deps=[f"raw_{source.name}", *deps],
        partitions_def=daily_partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
        retry_policy=TRANSIENT_RETRY,
        metadata=table_metadata(spec),
    )
    def _asset(
        context: dg.AssetExecutionContext, lake: StorageResource, warehouse: WarehouseResource
    ) -> dg.MaterializeResult:
        return dg.MaterializeResult(metadata=_write_in_chunks(context, warehouse, lake, source, transform))

    return _asset


def _flights_transform(raw: pl.DataFrame, warehouse: WarehouseResource) -> Split:
    # Read per chunk: a few thousand rows, and a chunk never sees another run's airports.
    airports = read_window(warehouse, CLEAN_AIRPORTS, columns=["faa", "tzone"])
    return clean_flights_transform(raw, airports)


clean_flights = _daily_clean_asset(
    FLIGHTS,
    deps=["clean_airports"],
    description="One row per scheduled flight (grain: flight_id = date/carrier/flight/origin) in `clean.flights`. "
    "Local HHMM clock times become UTC timestamps (departures in America/New_York, arrivals in the destination's "
    "zone; 2400 = midnight ending the day; past-midnight departures and next-day arrivals resolved from the delays); "
    "delays in minutes; `is_cancelled` when there is no departure time. Rows that cannot be made valid go to "
    "`quarantine.flights` with the broken rules.",
    transform=_flights_transform,
)
clean_weather = _daily_clean_asset(
    WEATHER,
    deps=[],
    description="One row per station and hour (grain: origin, observed_at UTC) in `clean.weather`, with units in the "
    "column names. The DST fall-back hour is told apart by the source's UTC `time_hour`. Invalid rows go to "
    "`quarantine.weather`.",
    transform=lambda raw, _warehouse: clean_weather_transform(raw),
)


def _reference_clean_asset(source: SourceSpec) -> dg.AssetsDefinition:
    spec = CLEAN_TABLES[source.name]

    @dg.asset(
        name=f"clean_{source.name}",
        description=f"Typed reference table `clean.{source.name}` (grain: {', '.join(spec.grain)}), replaced whole "
        f"on each run; invalid rows go to `quarantine.{source.name}`.",
        group_name=GROUP,
        owners=OWNERS,
        kinds={"polars", "postgres"},
        code_version=CODE_VERSION,
        deps=[f"raw_{source.name}"],
        # Unpartitioned, but declared single-run so ranged CLI runs (`--partition-range`) can include it.
        backfill_policy=dg.BackfillPolicy.single_run(),
        retry_policy=TRANSIENT_RETRY,
        metadata=table_metadata(spec),
    )
    def _asset(lake: StorageResource, warehouse: WarehouseResource) -> dg.MaterializeResult:
        raw = lake.read_parquet([raw_lake_key(source)])
        split = clean_reference(source.name, raw)
        metadata = _write(warehouse, source, raw.height, split)
        return dg.MaterializeResult(metadata={"dagster/row_count": split.valid.height, "rows_out": split.valid.height, **metadata})

    return _asset


clean_airlines = _reference_clean_asset(AIRLINES)
clean_airports = _reference_clean_asset(AIRPORTS)
clean_planes = _reference_clean_asset(PLANES)

CLEAN_ASSETS = [clean_flights, clean_weather, clean_airlines, clean_airports, clean_planes]
