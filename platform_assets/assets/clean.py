"""clean layer: raw parquet -> typed, validated tables in the warehouse schema ``clean``.

Each asset reads its raw rows for the run's window, splits them into valid rows and
rejected rows (:mod:`platform_assets.transforms.rules`) and writes both, in one
transaction, to ``clean.<table>`` and ``quarantine.<table>``: every raw row lands in
exactly one of the two, and a re-run replaces the window in both.
"""

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
from platform_assets.partitions import daily_partitions
from platform_assets.resources.storage import StorageResource
from platform_assets.resources.warehouse import TableWrite, WarehouseResource, read_window
from platform_assets.sources.contract import AIRLINES, AIRPORTS, FLIGHTS, PLANES, WEATHER, SourceSpec
from platform_assets.tables import CLEAN_AIRPORTS, CLEAN_TABLES, QUARANTINE_TABLES
from platform_assets.transforms.clean_flights import clean_flights as clean_flights_transform
from platform_assets.transforms.clean_reference import clean_reference
from platform_assets.transforms.clean_weather import clean_weather as clean_weather_transform
from platform_assets.transforms.rules import Split

GROUP = "clean"
CODE_VERSION = "1"


def _write(
    warehouse: WarehouseResource, source: SourceSpec, raw_rows: int, split: Split, window=None
) -> dict[str, object]:
    """Write clean + quarantine rows atomically and return the materialization metadata."""
    if split.valid.height + split.rejected.height != raw_rows:
        raise RuntimeError(
            f"{source.name}: {raw_rows} raw rows but {split.valid.height} clean + {split.rejected.height} quarantined"
        )
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
        keys = [raw_lake_key(source, day) for day in window_dates(context)]
        absent = [k for k in keys if not lake.exists(k)]
        if absent:
            raise dg.Failure(
                f"raw_{source.name} is not materialized for {len(absent)} day(s) of the window, e.g. {absent[:3]}; "
                f"materialize raw_{source.name} for this window first",
                allow_retries=False,
            )
        raw = lake.read_parquet(keys)
        split = transform(raw, warehouse)
        window = window_bounds(context)
        metadata = _write(warehouse, source, raw.height, split, window)
        return dg.MaterializeResult(metadata={**window_metadata(context, split.valid.height), **metadata})

    return _asset


def _flights_transform(raw: pl.DataFrame, warehouse: WarehouseResource) -> Split:
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
