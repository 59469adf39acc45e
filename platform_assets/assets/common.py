"""What every asset shares: owners, retry policy, partition-window helpers, metadata."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import dagster as dg
import polars as pl

from platform_assets.tables import TableSpec

OWNERS = ["team:data-platform"]

#: Transient failures (a dropped connection, a busy server) heal with backoff and jitter.
#: Errors that retrying cannot fix raise ``dg.Failure(allow_retries=False)`` instead.
#: The contexts a run's window is read from: an asset's step or an asset check's.
RunContext = dg.AssetExecutionContext | dg.AssetCheckExecutionContext

TRANSIENT_RETRY = dg.RetryPolicy(max_retries=3, delay=2, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS)


def has_window(context: RunContext) -> bool:
    """Whether the run has a partition window: a partition key (range) of the step, or the
    run's partition tags (a checks-only run, see :func:`window_dates`)."""
    tags = context.run.tags
    return (
        context.has_partition_key_range or "dagster/asset_partition_range_start" in tags or "dagster/partition" in tags
    )


def window_dates(context: RunContext) -> list[dt.date]:
    """Every date of the run's partition window (one day, or a whole backfill range).

    A checks-only run of a multi-asset (the dbt tests of the partitioned models) selects no
    partitioned asset, so its step has no partition window: the run's partition tags give it.

    Raises:
        dg.DagsterInvariantViolationError: the run has no partition at all.
    """
    try:
        window = context.partition_time_window
        first, end = window.start.date(), window.end.date()
    except dg.DagsterInvariantViolationError:
        tags = context.run.tags
        start = tags.get("dagster/asset_partition_range_start") or tags.get("dagster/partition")
        last = tags.get("dagster/asset_partition_range_end") or tags.get("dagster/partition")
        if not start or not last:
            raise
        first, end = dt.date.fromisoformat(start), dt.date.fromisoformat(last) + dt.timedelta(days=1)
    return [first + dt.timedelta(days=i) for i in range((end - first).days)]


def window_bounds(context: RunContext) -> tuple[dt.date, dt.date]:
    """First and last date (inclusive) of the run's partition window."""
    dates = window_dates(context)
    return dates[0], dates[-1]


def window_metadata(context: dg.AssetExecutionContext, rows_out: int) -> dict[str, dg.MetadataValue]:
    """The run's window as context, shared by every partition's materialization.

    Per-partition figures (``dagster/row_count`` and the step's own counts for that day)
    are attached with :func:`add_partition_metadata`; the window totals are kept here
    under ``window_*`` names so they are never mistaken for one day's figures.
    """
    first, last = window_bounds(context)
    return {
        "partition_window": dg.MetadataValue.text(f"{first}..{last}"),
        "days_in_window": dg.MetadataValue.int((last - first).days + 1),
        "window_rows_out": dg.MetadataValue.int(rows_out),
    }


def add_partition_metadata(
    context: dg.AssetExecutionContext,
    per_day: Mapping[dt.date, Mapping[str, Any]],
    asset_key: dg.AssetKey | str | None = None,
) -> None:
    """Attach each day's own figures to that partition's materialization of a ranged run.

    Dagster records one materialization per partition of a single-run backfill; metadata
    added for a partition key (``add_asset_metadata(partition_key=...)``) is merged into
    that partition's event only, over the shared metadata. ``per_day`` maps each date of
    the window to its metadata (e.g. ``{"dagster/row_count": 912, "rows_in": 915}``);
    days of the window missing from it get nothing extra.
    """
    for day, metadata in per_day.items():
        context.add_asset_metadata(dict(metadata), asset_key=asset_key, partition_key=day.isoformat())


def add_run_metadata(
    context: dg.AssetExecutionContext,
    metadata: Mapping[str, Any],
    asset_key: dg.AssetKey | str | None = None,
) -> None:
    """Attach what describes the whole run, not a day, to the window's newest partition only.

    A preview, the column lineage and the step's ``cost/*`` figures are facts of the run;
    copied into each of a year's 365 materializations they were most of the bytes Dagster
    serialised and stored for the run (16 KB per ``clean_flights`` event, 32 MB a year).
    On the newest partition they sit on the asset's latest materialization, where the UI's
    asset page, ``platform-assets lineage`` and ``platform-assets costs`` read them; every
    partition keeps its own figures and the ``partition_window`` naming its run.
    """
    newest = window_dates(context)[-1].isoformat()
    context.add_asset_metadata(dict(metadata), asset_key=asset_key, partition_key=newest)


def day_counts(frame: pl.DataFrame, column: str) -> dict[dt.date, int]:
    """Rows of ``frame`` per value of the date column ``column``."""
    if frame.height == 0:
        return {}
    return dict(frame.group_by(column).len().iter_rows())


def table_metadata(spec: TableSpec) -> dict[str, object]:
    """Definition-time metadata: the table's columns and where it lives."""
    return {
        "dagster/column_schema": spec.column_schema(),
        "dagster/table_name": f"warehouse.{spec.qualified_name}",
    }


def preview(frame: pl.DataFrame, rows: int = 5) -> dg.MetadataValue:
    """A small Markdown preview of a frame for the UI."""
    if frame.height == 0:
        return dg.MetadataValue.md("_no rows_")
    with pl.Config(
        tbl_formatting="MARKDOWN",
        tbl_hide_column_data_types=True,
        tbl_hide_dataframe_shape=True,
        tbl_cols=-1,
        tbl_width_chars=10_000,
        fmt_str_lengths=200,
    ):
        return dg.MetadataValue.md(str(frame.head(rows)))


def rule_counts(quarantined: pl.DataFrame) -> dict[str, int]:
    """Quarantined rows per broken rule (a row breaking two rules counts for both)."""
    if quarantined.height == 0:
        return {}
    counts = quarantined.select(pl.col("failed_rules").str.split(";").explode()).group_by("failed_rules").len()
    return {row["failed_rules"]: row["len"] for row in counts.sort("len", descending=True).iter_rows(named=True)}
