"""Asset-check factories: pandera models, reconciliation and referential integrity as Dagster checks.

Every check is partition-aware: on a partitioned asset it validates exactly the run's
partition window (one day or a backfill range), read back from the warehouse, and names
the window in its metadata. ERROR checks are ``blocking``: when one fails, downstream
assets (dbt models included) do not run in that run, and the previous good data stays in
place.

The checks are not *partitioned* in Dagster's sense (no ``partitions_def``): one
evaluation covers the run's whole window, so it is recorded once per run. A partitioned
check makes Dagster store one planned row per partition and check before a run starts
(3,650 rows, about 10 s, for a year with our ten window checks), and a ranged evaluation
leaves those rows PLANNED for good.
"""

import datetime as dt
import re
from collections import Counter

import dagster as dg
import pandera.polars as pa
import polars as pl

from platform_assets.assets.common import preview, window_bounds, window_dates
from platform_assets.assets.raw import raw_lake_key
from platform_assets.chunking import plan_chunks
from platform_assets.partitions import partition_bounds
from platform_assets.resources.storage import StorageResource
from platform_assets.resources.warehouse import WarehouseResource, read_window
from platform_assets.quality import anomaly, schemas
from platform_assets.quality.routing import failure_cases, rule_name
from platform_assets.sources.contract import SOURCES, SourceSpec, classify_landing_keys
from platform_assets.tables import (
    CLEAN_AIRLINES,
    CLEAN_AIRPORTS,
    CLEAN_PLANES,
    CLEAN_FLIGHTS,
    CLEAN_TABLES,
    CLEAN_WEATHER,
    FLIGHT_DAILY_METRICS,
    QUARANTINE_TABLES,
    TableSpec,
)

FAILURE_SAMPLE_ROWS = 10

#: Largest share of a day's (or a reference table's) rows that may be quarantined. Above it
#: the batch is treated as broken upstream (a changed format, a wrong file) and blocked,
#: rather than published with a hole in it.
MAX_QUARANTINE_SHARE = 0.02


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _window(context: dg.AssetCheckExecutionContext, partitioned: bool):
    return window_bounds(context) if partitioned else None


def _window_metadata(window) -> dict[str, str]:
    return {"partition_window": f"{window[0]}..{window[1]}" if window else "whole table"}


def _failure_sample(frame: pl.DataFrame, failures: pl.DataFrame, rows: int) -> pl.DataFrame:
    """Up to ``rows`` failing rows of ``frame`` with the rules each broke (lineage columns dropped)."""
    indices = failures["index"].drop_nulls().unique().sort().head(rows).to_list()
    rule_of_row = failures.filter(pl.col("index").is_in(indices)).group_by("index").agg(
        broken_rules=pl.col("check").unique().sort().str.join(", ")
    )
    return (
        frame.with_row_index("index").with_columns(pl.col("index").cast(pl.Int32))
        .join(rule_of_row, on="index").drop("index", "source_file", "landed_at", strict=False)
        .select("broken_rules", pl.exclude("broken_rules"))
    )


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
    )
    def _check(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource) -> dg.AssetCheckResult:
        window = _window(context, partitioned)
        # Whole-day chunks keep memory bounded; every model's grain holds the day, so
        # uniqueness is still judged exactly (see platform_assets.chunking).
        chunks = plan_chunks(*window, warehouse.rows_per_day(spec, window)) if window else [None]
        rows_checked = failing_rows = failures_total = 0
        by_rule: Counter[str] = Counter()
        samples: list[pl.DataFrame] = []
        for chunk in chunks:
            frame = read_window(warehouse, spec, chunk)
            failures = failure_cases(frame, model)
            rows_checked += frame.height
            failures_total += failures.height
            failing_rows += failures["index"].drop_nulls().n_unique()
            rules = failures.with_columns(rule=rule_name(pl.col("schema_context"), pl.col("column"), pl.col("check")))
            by_rule.update(dict(rules.group_by("rule").len().iter_rows()))
            room = FAILURE_SAMPLE_ROWS - sum(x.height for x in samples)
            if room > 0 and failures.height:
                samples.append(_failure_sample(frame, failures, room))
        return dg.AssetCheckResult(
            passed=failures_total == 0,
            severity=severity,
            metadata={
                **_window_metadata(window),
                "rows_checked": rows_checked,
                "failing_rows": failing_rows,
                "failures_by_rule": dg.MetadataValue.json(dict(by_rule.most_common())),
                "failure_sample": preview(pl.concat(samples, how="diagonal_relaxed") if samples else pl.DataFrame(),
                                          FAILURE_SAMPLE_ROWS),
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
    )
    def _check(context: dg.AssetCheckExecutionContext, lake: StorageResource, warehouse: WarehouseResource):
        window = _window(context, partitioned)
        keys = [raw_lake_key(source, day) for day in window_dates(context)] if partitioned else [raw_lake_key(source)]
        raw = lake.parquet_row_count(keys)
        clean_rows = warehouse.count_rows(clean, window)
        quarantined = warehouse.count_rows(quarantine, window)
        return dg.AssetCheckResult(
            passed=raw == clean_rows + quarantined,
            severity=dg.AssetCheckSeverity.ERROR,
            metadata={**_window_metadata(window), "raw_rows": raw, "clean_rows": clean_rows, "quarantined_rows": quarantined},
        )

    return _check


def quarantine_share_check(source: SourceSpec) -> dg.AssetChecksDefinition:
    """Blocking check on ``clean_<source>``: at most :data:`MAX_QUARANTINE_SHARE` of each day's rows quarantined.

    Row-level rejects are normal and kept in ``quarantine.<source>``; a day where many rows
    are rejected means the upstream batch is broken, so downstream must not use it.
    """
    clean, quarantine = CLEAN_TABLES[source.name], QUARANTINE_TABLES[source.name]
    partitioned = source.daily

    @dg.asset_check(
        asset=f"clean_{source.name}",
        name="quarantine_share_within_limit",
        description=f"At most {MAX_QUARANTINE_SHARE:.0%} of each {'day' if partitioned else 'delivery'}'s "
        f"{source.name} rows are quarantined; above that the batch is broken upstream and blocked.",
        blocking=True,
    )
    def _check(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource) -> dg.AssetCheckResult:
        window = _window(context, partitioned)
        if partitioned:
            shares = warehouse.read_frame(
                f"with c as (select {clean.window_column} as day, count(*) as n from {clean.qualified_name} "
                f"where {clean.window_column} between %s and %s group by 1), "
                f"q as (select partition_date as day, count(*) as n from {quarantine.qualified_name} "
                "where partition_date between %s and %s group by 1) "
                "select coalesce(c.day, q.day) as day, coalesce(c.n, 0) as clean_rows, coalesce(q.n, 0) as quarantined_rows "
                "from c full join q on c.day = q.day order by 1",
                (*window, *window),
            )
        else:
            shares = warehouse.read_frame(
                f"select null::date as day, (select count(*) from {clean.qualified_name}) as clean_rows, "
                f"(select count(*) from {quarantine.qualified_name}) as quarantined_rows"
            )
        shares = shares.with_columns(
            share=pl.col("quarantined_rows") / (pl.col("clean_rows") + pl.col("quarantined_rows")).clip(1)
        )
        over = shares.filter(pl.col("share") > MAX_QUARANTINE_SHARE).sort("share", descending=True)
        return dg.AssetCheckResult(
            passed=over.height == 0,
            severity=dg.AssetCheckSeverity.ERROR,
            metadata={
                **_window_metadata(window),
                "max_share": float(shares["share"].max() or 0.0),
                "limit": MAX_QUARANTINE_SHARE,
                "quarantined_rows": int(shares["quarantined_rows"].sum()),
                "batches_over_limit": over.height,
                "worst_batches": preview(over, FAILURE_SAMPLE_ROWS),
            },
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


def volume_anomaly_check() -> dg.AssetChecksDefinition:
    """WARN check on ``flight_daily_metrics``: unusual daily flight volume per origin.

    Each day of the window is scored against the same weekday of the previous weeks
    (:func:`platform_assets.quality.anomaly.volume_scores`), read from the warehouse, so a
    one-day run compares with what earlier runs wrote.
    """
    spec = FLIGHT_DAILY_METRICS

    @dg.asset_check(
        asset="flight_daily_metrics",
        name="daily_volume_within_weekday_baseline",
        description=f"Scheduled flights per origin and day vs the same weekday of the previous {anomaly.BASELINE_WEEKS} "
        f"weeks: robust z-score (median and MAD) beyond ±{anomaly.ANOMALY_THRESHOLD} is reported. Holidays show up "
        "here by design; a drop on an ordinary day usually means missing upstream rows.",
        blocking=False,
    )
    def _check(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource) -> dg.AssetCheckResult:
        first, last = _window(context, True)
        daily = warehouse.read_frame(
            f"select flight_date, origin, sum(flights)::bigint as flights from {spec.qualified_name} "
            "where flight_date between %s and %s group by 1, 2",
            (first - dt.timedelta(weeks=anomaly.BASELINE_WEEKS), last),
        )
        scores = anomaly.volume_scores(daily, first, last)
        flagged = scores.filter(pl.col("is_anomaly")).sort(pl.col("score").abs(), descending=True)
        unscored = scores["score"].null_count()
        return dg.AssetCheckResult(
            passed=flagged.height == 0,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={
                **_window_metadata((first, last)),
                "days_scored": scores.height - unscored,
                "days_without_baseline": unscored,
                "threshold": anomaly.ANOMALY_THRESHOLD,
                "anomalies": flagged.height,
                "most_unusual": preview(
                    flagged.select("flight_date", "origin", "flights", "baseline_median", "baseline_mad", pl.col("score").round(1)),
                    FAILURE_SAMPLE_ROWS,
                ),
            },
        )

    return _check


def landing_contract_check() -> dg.AssetChecksDefinition:
    """WARN check on ``raw_flights``: every file in the landing zone follows the contract.

    Files the platform will never ingest (an unknown folder or name, a date that is not a
    calendar date or lies outside the partitions, two spellings of one drop) are listed
    with the reason, so a misdelivered file is noticed instead of silently ignored.
    """

    @dg.asset_check(
        asset="raw_flights",
        name="landing_files_follow_contract",
        description="Every landing-zone file is a daily drop inside the partitions or a known reference file; "
        "the others are listed with the reason (they are not ingested).",
        blocking=False,
        additional_deps=["raw_weather"],
    )
    def _check(landing: StorageResource) -> dg.AssetCheckResult:
        keys = landing.list_keys()
        inventory = classify_landing_keys(keys, *partition_bounds())
        violations = pl.DataFrame(inventory.violations, schema=["file", "problem"], orient="row")
        return dg.AssetCheckResult(
            passed=violations.height == 0,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={
                "landing_files": len(keys),
                "daily_drops": len(inventory.drops),
                "files_breaking_contract": violations.height,
                "problems": preview(violations, 50),
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
    pandera_check("clean_airlines", CLEAN_AIRLINES, schemas.CleanAirlines, ERROR, partitioned=False),
    pandera_check("clean_airports", CLEAN_AIRPORTS, schemas.CleanAirports, ERROR, partitioned=False),
    pandera_check("clean_planes", CLEAN_PLANES, schemas.CleanPlanes, ERROR, partitioned=False),
    *[reconciliation_check(source) for source in SOURCES.values()],
    *[quarantine_share_check(source) for source in SOURCES.values()],
    *[referential_check(*reference) for reference in REFERENCES],
    volume_anomaly_check(),
    landing_contract_check(),
]
