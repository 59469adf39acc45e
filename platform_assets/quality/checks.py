"""Asset-check factories: pandera models, reconciliation and referential integrity as Dagster checks.

Every check is partition-aware: on a partitioned asset it validates exactly the run's
partition window (one day or a backfill range), read back from the warehouse. ERROR
checks are ``blocking``: when one fails, downstream assets (dbt models included) do not
run in that run, and the previous good data stays in place.
"""

import re

import dagster as dg
import pandera.polars as pa
import polars as pl

from platform_assets.assets.common import preview, window_bounds, window_dates
from platform_assets.assets.raw import raw_lake_key
from platform_assets.partitions import daily_partitions
from platform_assets.resources.storage import StorageResource
from platform_assets.resources.warehouse import WarehouseResource, read_window
from platform_assets.quality import schemas
from platform_assets.sources.contract import SOURCES, SourceSpec
from platform_assets.tables import (
    CLEAN_FLIGHTS,
    CLEAN_TABLES,
    CLEAN_WEATHER,
    FLIGHT_DAILY_METRICS,
    QUARANTINE_TABLES,
    TableSpec,
)

FAILURE_SAMPLE_ROWS = 10


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _window(context: dg.AssetCheckExecutionContext, partitioned: bool):
    return window_bounds(context) if partitioned else None


def _window_metadata(window) -> dict[str, str]:
    return {"partition_window": f"{window[0]}..{window[1]}" if window else "whole table"}


def validate_with_model(frame: pl.DataFrame, model: type[pa.DataFrameModel]) -> pl.DataFrame:
    """Failure cases of ``frame`` against ``model`` (empty when it passes).

    Returns pandera's failure-case frame: ``failure_case, schema_context, column, check,
    check_number, index`` (``index`` is the row position in ``frame``).
    """
    try:
        model.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as errors:
        return errors.failure_cases
    return pl.DataFrame(schema={"failure_case": pl.String, "column": pl.String, "check": pl.String, "index": pl.Int32})


def pandera_check(
    asset: str,
    spec: TableSpec,
    model: type[pa.DataFrameModel],
    severity: dg.AssetCheckSeverity,
    partitioned: bool,
) -> dg.AssetChecksDefinition:
    """An asset check validating ``spec``'s rows (the run's window) against a pandera model.

    ERROR severity makes the check blocking. Metadata: rows checked, failures per rule,
    a Markdown sample of failing rows with the rule they broke, the partition window.
    """

    @dg.asset_check(
        asset=asset,
        name=_snake(model.__name__),
        description=(model.__doc__ or "").strip().splitlines()[0] + " Rules: pandera model "
        f"`{model.__module__}.{model.__name__}`.",
        blocking=severity == dg.AssetCheckSeverity.ERROR,
        partitions_def=daily_partitions if partitioned else None,
    )
    def _check(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource) -> dg.AssetCheckResult:
        window = _window(context, partitioned)
        frame = read_window(warehouse, spec, window)
        failures = validate_with_model(frame, model)
        by_rule = (
            failures.with_columns(rule=pl.format("{}: {}", pl.col("column"), pl.col("check")))
            .group_by("rule").len().sort("len", descending=True)
        )
        rows = failures["index"].drop_nulls().unique().sort().head(FAILURE_SAMPLE_ROWS).to_list()
        rule_of_row = failures.filter(pl.col("index").is_in(rows)).group_by("index").agg(
            broken_rules=pl.col("check").unique().sort().str.join(", ")
        )
        sample = (
            frame.with_row_index("index").with_columns(pl.col("index").cast(pl.Int32))
            .join(rule_of_row, on="index").drop("index", "source_file", "landed_at", strict=False)
            .select("broken_rules", pl.exclude("broken_rules"))
        )
        return dg.AssetCheckResult(
            passed=failures.height == 0,
            severity=severity,
            metadata={
                **_window_metadata(window),
                "rows_checked": frame.height,
                "failing_rows": failures["index"].drop_nulls().n_unique(),
                "failures_by_rule": dg.MetadataValue.json(dict(by_rule.iter_rows())),
                "failure_sample": preview(sample, FAILURE_SAMPLE_ROWS),
            },
        )

    return _check


def reconciliation_check(source: SourceSpec) -> dg.AssetChecksDefinition:
    """Blocking check on ``clean_<source>``: raw rows = clean rows + quarantined rows for the window."""
    clean, quarantine = CLEAN_TABLES[source.name], QUARANTINE_TABLES[source.name]
    partitioned = source.daily

    @dg.asset_check(
        asset=f"clean_{source.name}",
        name="raw_equals_clean_plus_quarantined",
        description=f"Every raw {source.name} row is in exactly one of {clean.qualified_name} and "
        f"{quarantine.qualified_name}: nothing is lost or duplicated.",
        blocking=True,
        partitions_def=daily_partitions if partitioned else None,
    )
    def _check(context: dg.AssetCheckExecutionContext, lake: StorageResource, warehouse: WarehouseResource):
        window = _window(context, partitioned)
        keys = [raw_lake_key(source, day) for day in window_dates(context)] if partitioned else [raw_lake_key(source)]
        raw = pl.scan_parquet([lake.uri(k) for k in keys]).select(pl.len()).collect().item()
        clean_rows = read_window(warehouse, clean, window, columns=[clean.grain[0]]).height
        quarantined = read_window(warehouse, quarantine, window, columns=["source_row"]).height
        return dg.AssetCheckResult(
            passed=raw == clean_rows + quarantined,
            severity=dg.AssetCheckSeverity.ERROR,
            metadata={**_window_metadata(window), "raw_rows": raw, "clean_rows": clean_rows, "quarantined_rows": quarantined},
        )

    return _check


# (name, flights column, reference table, reference key) for the referential checks
REFERENCES = [
    ("tailnum_in_planes", "tailnum", "clean.planes", "tailnum"),
    ("dest_in_airports", "dest", "clean.airports", "faa"),
    ("carrier_in_airlines", "carrier", "clean.airlines", "carrier"),
]


def referential_check(name: str, column: str, reference: str, key: str) -> dg.AssetChecksDefinition:
    """WARN check on ``clean_flights``: flights whose ``column`` is not in ``reference``."""

    @dg.asset_check(
        asset="clean_flights",
        name=name,
        description=f"Flights whose {column} is not a {key} of {reference} (reported, not blocking: the real "
        "data has such gaps).",
        blocking=False,
        partitions_def=daily_partitions,
        additional_deps=[f"clean_{reference.split('.')[1]}"],
    )
    def _check(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource) -> dg.AssetCheckResult:
        window = _window(context, True)
        if warehouse.read_frame("select to_regclass(%s) is not null as present", (reference,))["present"][0] is False:
            return dg.AssetCheckResult(
                passed=False,
                severity=dg.AssetCheckSeverity.WARN,
                description=f"{reference} is not materialized yet; cannot check references",
                metadata=_window_metadata(window),
            )
        missing = warehouse.read_frame(
            f"select f.{column} as value, count(*) as flights from clean.flights f "
            f"where f.flight_date between %s and %s and f.{column} is not null "
            f"and not exists (select 1 from {reference} r where r.{key} = f.{column}) "
            "group by 1 order by 2 desc",
            window,
        )
        flights = int(missing["flights"].sum()) if missing.height else 0
        return dg.AssetCheckResult(
            passed=flights == 0,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={
                **_window_metadata(window),
                "flights_without_match": flights,
                "distinct_values": missing.height,
                "top_values": preview(missing, FAILURE_SAMPLE_ROWS),
            },
        )

    return _check


ERROR, WARN = dg.AssetCheckSeverity.ERROR, dg.AssetCheckSeverity.WARN

QUALITY_CHECKS = [
    pandera_check("clean_flights", CLEAN_FLIGHTS, schemas.CleanFlights, ERROR, partitioned=True),
    pandera_check("clean_flights", CLEAN_FLIGHTS, schemas.CleanFlightsPlausibility, WARN, partitioned=True),
    pandera_check("clean_weather", CLEAN_WEATHER, schemas.CleanWeather, ERROR, partitioned=True),
    pandera_check("clean_weather", CLEAN_WEATHER, schemas.CleanWeatherPlausibility, WARN, partitioned=True),
    pandera_check("flight_daily_metrics", FLIGHT_DAILY_METRICS, schemas.FlightDailyMetrics, ERROR, partitioned=True),
    *[reconciliation_check(source) for source in SOURCES.values()],
    *[referential_check(*reference) for reference in REFERENCES],
]
