"""clean layer: raw parquet -> typed, validated tables in the warehouse schema ``clean``.

Each asset reads its raw rows for the run's window, splits them into valid rows and
rejected rows (:mod:`platform_assets.transforms.rules`) and writes both, in one
transaction, to ``clean.<table>`` and ``quarantine.<table>``: every raw row lands in
exactly one of the two, and a re-run replaces the window in both. Daily tables are
processed in batches (:mod:`platform_assets.chunking`: chunks of whole days, and a day
larger than the budget a batch at a time, its grain judged by the warehouse) inside that
one transaction, so memory grows with neither the window nor the day. The rows written are
validated with the checks' pandera schemas on the way (:mod:`platform_assets.quality.checks`),
so the run's checks need not read them back.
"""

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from typing import Any

import dagster as dg
import polars as pl

from platform_assets.assets.common import (
    TRANSIENT_RETRY,
    add_partition_metadata,
    add_run_metadata,
    day_counts,
    preview,
    rule_counts,
    table_metadata,
    window_bounds,
    window_dates,
    window_metadata,
)
from platform_assets.assets.raw import raw_lake_key
from platform_assets.automation.daily_trigger import daily_condition
from platform_assets.chunking import batch_rows, days_of, plan_chunks, prefetch_one
from platform_assets.executor import HEAVY_STEP_TAGS
from platform_assets.observability.step_cost import measure_step
from platform_assets.partitions import BACKFILL_POLICY, daily_partitions
from platform_assets.quality.checks import VALIDATED_WHILE_WRITING, Tally, source_validations
from platform_assets.resources.storage import StorageResource
from platform_assets.resources.warehouse import WAREHOUSE_POOL, TableWindow, TableWrite, WarehouseResource, WindowWrite
from platform_assets.sources.contract import SourceSpec
from platform_assets.sources.declaration import NULLED_VALUES, SourceDeclaration
from platform_assets.transforms.rules import Split

GROUP = "clean"


def _check_accounted(source: SourceSpec, raw_rows: int, split: Split) -> None:
    """Every raw row of a batch is either valid or rejected (a transform bug otherwise)."""
    if split.valid.height + split.rejected.height != raw_rows:
        raise RuntimeError(
            f"{source.name}: {raw_rows} raw rows but {split.valid.height} clean + {split.rejected.height} quarantined"
        )


def column_lineage(declared: SourceDeclaration) -> dg.TableColumnLineage:
    """``dagster/column_lineage`` of ``clean_<source>``: each clean column's raw (landing) columns."""
    return dg.TableColumnLineage(
        deps_by_column={
            column: [dg.TableColumnDep(asset_key=dg.AssetKey(asset), column_name=name) for asset, name in deps]
            for column, deps in declared.column_lineage().items()
        }
    )


def _values_nulled(split: Split) -> int:
    """Clean rows with a value nulled as physically impossible (see ``nulled_values``)."""
    return int(split.valid[NULLED_VALUES].is_not_null().sum()) if NULLED_VALUES in split.valid.columns else 0


def _count_days(per_day: dict, split: Split, day_column: str) -> None:
    """Add one chunk's clean, quarantined and nulled rows to each day's figures."""
    for day, n in day_counts(split.valid, day_column).items():
        per_day[day]["dagster/row_count"] += n
        per_day[day]["rows_out"] += n
    if NULLED_VALUES in split.valid.columns:
        nulled = split.valid.filter(pl.col(NULLED_VALUES).is_not_null())
        for day, n in day_counts(nulled, day_column).items():
            per_day[day]["rows_with_values_nulled"] += n
    for day, n in day_counts(split.rejected, "partition_date").items():
        per_day[day]["rows_quarantined"] += n
    if split.rejected.height:
        pairs = (
            split.rejected.select("partition_date", pl.col("failed_rules").str.split(";"))
            .explode("failed_rules")
            .group_by("partition_date", "failed_rules")
            .len()
        )
        for day, rule, n in pairs.iter_rows():
            per_day[day]["quarantined_by_rule"][rule] = per_day[day]["quarantined_by_rule"].get(rule, 0) + n


def _write(
    warehouse: WarehouseResource, declared: SourceDeclaration, raw_rows: int, split: Split, window=None
) -> dict[str, Any]:
    """Write clean + quarantine rows atomically and return the materialization metadata."""
    _check_accounted(declared.source_spec, raw_rows, split)
    clean_spec, quarantine_spec = declared.table_spec, declared.quarantine_spec
    replaced = warehouse.replace(
        [TableWrite(clean_spec, split.valid, window), TableWrite(quarantine_spec, split.rejected, window)]
    )
    return {
        "rows_in": raw_rows,
        "rows_quarantined": split.rejected.height,
        "quarantined_by_rule": dg.MetadataValue.json(rule_counts(split.rejected)),
        "rows_with_values_nulled": _values_nulled(split),
        "rows_replaced": replaced[clean_spec.qualified_name],
        "quarantine_table": quarantine_spec.qualified_name,
        "preview": preview(split.valid),
    }


@dataclass(frozen=True)
class _Rows:
    """One batch for the write: clean rows and quarantined rows. ``day`` is set for a batch
    of a day over the budget, whose grain the warehouse judges once the day is written."""

    valid: pl.DataFrame
    rejected: pl.DataFrame
    day: dt.date | None = None


@dataclass(frozen=True)
class _DayWritten:
    """Every batch of ``day`` is written: judge its grain in the warehouse."""

    day: dt.date


def _write_in_chunks(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    lake: StorageResource,
    declared: SourceDeclaration,
) -> tuple[dict[str, Any], dg.MetadataValue]:
    """Clean the run's window batch by batch (:mod:`platform_assets.chunking`) in one transaction.

    Small days are cleaned in chunks of whole days, the grain judged in memory. A day with
    more rows than the batch budget is read from the lake a batch at a time; each batch is
    cleaned by the row-local rules and its valid rows written, and once the day is written
    the warehouse judges the grain over the whole day: the first row of each key (lowest
    file, row) stays, every later one is quarantined with the uniqueness rule, its
    delivered text re-read from the lake. The rows go straight into a bulk-loaded table
    (its keys, built after the load, find any repeat: :meth:`WindowWrite.publish_appended`)
    and otherwise through a staging table (:meth:`WindowWrite.publish_staged`). Memory is
    bounded by the batch either way, and the window of ``clean.<table>`` and ``quarantine.<table>`` is still replaced
    atomically. Returns the materialization metadata shared by the window's partitions,
    and a preview of the clean rows.

    Raises:
        dg.Failure: a day's raw file is missing from the lake (not retried).
    """
    source = declared.source_spec
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
    budget = batch_rows()
    chunks = plan_chunks(days[0], days[-1], {day: counts[key] for day, key in keys.items()}, budget)
    totals = {"rows_in": 0, "rows_out": 0, "rows_quarantined": 0, "values_nulled": 0}
    by_rule: Counter[str] = Counter()
    sample: list[pl.DataFrame] = []
    clean_spec, quarantine_spec = declared.table_spec, declared.quarantine_spec
    day_column = clean_spec.window_column_name
    per_day: dict[dt.date, dict[str, Any]] = {
        day: {
            "rows_in": counts[key],
            "dagster/row_count": 0,
            "rows_out": 0,
            "rows_quarantined": 0,
            "quarantined_by_rule": {},
            "rows_with_values_nulled": 0,
        }
        for day, key in keys.items()
    }

    # The checks' pandera validations, run on exactly the rows written (see quality.checks).
    validations = source_validations(declared)
    tallies = {v.name: Tally() for v in validations}
    validated = {"rows": 0}

    def account(raw_rows: int, split: Split, in_batches: bool = False) -> None:
        _check_accounted(source, raw_rows, split)
        validated["rows"] += split.valid.height
        for v in validations:
            tallies[v.name].validate(
                split.valid, v.batch_schema if in_batches and v.batch_schema is not None else v.schema
            )
        totals["rows_in"] += raw_rows
        totals["rows_out"] += split.valid.height
        totals["rows_quarantined"] += split.rejected.height
        totals["values_nulled"] += _values_nulled(split)
        by_rule.update(rule_counts(split.rejected))
        _count_days(per_day, split, day_column)
        if not sample and split.valid.height:
            sample.append(split.valid.head(5))

    def batches():  # runs on a worker thread, one batch ahead of the writes
        for chunk in chunks:
            chunk_days = days_of(chunk)
            if len(chunk_days) == 1 and counts[keys[chunk[0]]] > budget:
                for raw in lake.iter_parquet(keys[chunk[0]], budget):
                    split = declared.clean(raw, warehouse, judge_grain=False)
                    account(raw.height, split, in_batches=True)
                    yield _Rows(split.valid, split.rejected, day=chunk[0])
                yield _DayWritten(chunk[0])
            else:
                raw = lake.read_parquet([keys[day] for day in chunk_days])
                split = declared.clean(raw, warehouse)
                account(raw.height, split)
                yield _Rows(split.valid, split.rejected)

    duplicates: Counter[dt.date] = Counter()  # judged by the warehouse: moved from clean to quarantine
    nulled_duplicates = 0
    window = window_bounds(context)
    flag = NULLED_VALUES if NULLED_VALUES in clean_spec.columns else None
    appended: dict[dt.date, bool] = {}  # day over the budget -> appended to the table (else staged)
    with warehouse.replacing([TableWindow(clean_spec, window), TableWindow(quarantine_spec, window)]) as write:
        for item in prefetch_one(batches()):
            if isinstance(item, _DayWritten):
                if appended[item.day]:
                    losers, nulled = write.publish_appended(clean_spec, item.day, flag)
                else:
                    losers, nulled = write.publish_staged(clean_spec, flag)
                duplicates[item.day] += losers
                nulled_duplicates += nulled
                if losers:
                    _quarantine_losers(write, lake, declared, keys[item.day], budget)
                continue
            write.copy(quarantine_spec, item.rejected)
            if item.day is None:
                write.copy(clean_spec, item.valid)
                continue
            # Decided at the day's first batch, here in the writing thread: a bulk-loaded table
            # (keys dropped until the commit) takes the rows directly and judges the grain
            # when its keys are built; otherwise they wait in a staging table.
            if appended.setdefault(item.day, write.is_bulk(clean_spec)):
                write.copy(clean_spec, item.valid)
            else:
                write.stage(clean_spec, item.valid)
    rule = declared.duplicate_rule().name
    for day, n in duplicates.items():
        figures = per_day[day]
        figures["dagster/row_count"] -= n
        figures["rows_out"] -= n
        figures["rows_quarantined"] += n
        figures["quarantined_by_rule"][rule] = figures["quarantined_by_rule"].get(rule, 0) + n
    total_duplicates = sum(duplicates.values())
    totals["rows_out"] -= total_duplicates
    totals["rows_quarantined"] += total_duplicates
    totals["values_nulled"] -= nulled_duplicates
    if total_duplicates:
        by_rule[rule] += total_duplicates
    add_partition_metadata(
        context,
        {
            day: {**figures, "quarantined_by_rule": dg.MetadataValue.json(figures["quarantined_by_rule"])}
            for day, figures in per_day.items()
        },
    )
    if not total_duplicates:  # else some validated rows were removed afterwards: the checks read back
        add_run_metadata(
            context,
            {
                VALIDATED_WHILE_WRITING: dg.MetadataValue.json(
                    {
                        "partition_window": f"{window[0]}..{window[1]}",
                        "rows_checked": validated["rows"],
                        "checks": {name: tally.as_json() for name, tally in tallies.items()},
                    }
                )
            },
        )
    return {
        **window_metadata(context, totals["rows_out"]),
        "window_rows_in": totals["rows_in"],
        "window_rows_quarantined": totals["rows_quarantined"],
        "window_quarantined_by_rule": dg.MetadataValue.json(dict(by_rule.most_common())),
        "window_rows_with_values_nulled": totals["values_nulled"],
        "window_rows_replaced": write.deleted[clean_spec.qualified_name],
        "quarantine_table": quarantine_spec.qualified_name,
        "chunks": len(chunks),
    }, preview(sample[0] if sample else pl.DataFrame())


def _quarantine_losers(
    write: WindowWrite, lake: StorageResource, declared: SourceDeclaration, key: str, budget: int
) -> None:
    """Quarantine the rows the warehouse found repeating an earlier row's grain key, with
    their delivered text read back from the day's raw lake file a batch at a time."""
    rule = declared.duplicate_rule()
    spec = declared.table_spec
    for raw in lake.iter_parquet(key, budget):
        if raw.height == 0:
            continue
        first_row, last_row = raw.select(
            pl.col("source_row").min().alias("first"), pl.col("source_row").max().alias("last")
        ).row(0)
        rows = write.staged_losers(spec, int(first_row), int(last_row))
        if rows:
            losers = raw.filter(pl.col("source_row").is_in(rows))
            write.copy(
                declared.quarantine_spec,
                declared.quarantine_from_raw(
                    losers,
                    failed_rules=pl.lit(rule.name),
                    reason=pl.lit(f"{rule.name}: {rule.description}"),
                ),
            )


def _asset_description(declared: SourceDeclaration, spec) -> str:
    whole = "" if declared.daily else ", replaced whole on each run"
    return (
        f"{declared.description.strip()} Typed and validated into `{spec.qualified_name}` "
        f"(grain: {', '.join(spec.grain)}){whole}; rows breaking a rule go to `quarantine.{declared.name}` "
        "with the broken rules."
    )


def _hook_deps(declared: SourceDeclaration) -> list[str]:
    hook = declared.transform_hook
    return list(hook.deps) if hook else []


def _daily_clean_asset(declared: SourceDeclaration) -> dg.AssetsDefinition:
    spec = declared.table_spec

    @dg.asset(
        name=f"clean_{declared.name}",
        description=_asset_description(declared, spec),
        group_name=GROUP,
        owners=declared.owners,
        kinds={"polars", "postgres"},
        code_version=declared.code_version,
        deps=[f"raw_{declared.name}", *_hook_deps(declared)],
        partitions_def=daily_partitions,
        automation_condition=daily_condition(),
        backfill_policy=BACKFILL_POLICY,
        retry_policy=TRANSIENT_RETRY,
        pool=WAREHOUSE_POOL,
        metadata=table_metadata(spec),
        op_tags=HEAVY_STEP_TAGS if declared.heavy else None,
    )
    def _asset(
        context: dg.AssetExecutionContext, lake: StorageResource, warehouse: WarehouseResource
    ) -> dg.MaterializeResult:
        with measure_step() as cost:
            metadata, sample = _write_in_chunks(context, warehouse, lake, declared)
        cost.rows_read = metadata["window_rows_in"]
        cost.rows_written = cost.rows_read  # every row lands in the clean or the quarantine table
        cost.measure_tables(warehouse, [spec.qualified_name, declared.quarantine_spec.qualified_name])
        add_run_metadata(
            context,
            {
                "preview": sample,
                **cost.metadata(),
                "dagster/column_lineage": column_lineage(declared),
            },
        )
        return dg.MaterializeResult(metadata=metadata)

    return _asset


def _reference_clean_asset(declared: SourceDeclaration) -> dg.AssetsDefinition:
    spec = declared.table_spec
    source = declared.source_spec

    @dg.asset(
        name=f"clean_{declared.name}",
        description=_asset_description(declared, spec),
        group_name=GROUP,
        owners=declared.owners,
        kinds={"polars", "postgres"},
        code_version=declared.code_version,
        deps=[f"raw_{declared.name}", *_hook_deps(declared)],
        # Unpartitioned, but declared single-run so ranged CLI runs (`--partition-range`) can include
        # it (Dagster allows no other policy on an unpartitioned asset).
        backfill_policy=dg.BackfillPolicy.single_run(),
        retry_policy=TRANSIENT_RETRY,
        pool=WAREHOUSE_POOL,
        metadata=table_metadata(spec),
    )
    def _asset(lake: StorageResource, warehouse: WarehouseResource) -> dg.MaterializeResult:
        with measure_step() as cost:
            raw = lake.read_parquet([raw_lake_key(source)])
            split = declared.clean(raw, warehouse)
            metadata = _write(warehouse, declared, raw.height, split)
        cost.rows_read = cost.rows_written = raw.height
        cost.measure_tables(warehouse, [spec.qualified_name, declared.quarantine_spec.qualified_name])
        return dg.MaterializeResult(
            metadata={
                "dagster/row_count": split.valid.height,
                "rows_out": split.valid.height,
                **metadata,
                **cost.metadata(),
                "dagster/column_lineage": column_lineage(declared),
            }
        )

    return _asset


def clean_asset(declared: SourceDeclaration) -> dg.AssetsDefinition:
    """``clean_<source>``: typed, validated rows in ``clean.<table>``, rejects in ``quarantine.<source>``."""
    return _daily_clean_asset(declared) if declared.daily else _reference_clean_asset(declared)
