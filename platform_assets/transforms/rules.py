"""Row rules and the valid / quarantine split.

A :class:`RowRule` is a named boolean expression that is true where a row *breaks* the
rule. :func:`split_by_rules` evaluates all rules at once and splits a frame into the rows
that pass every rule and the rows that break at least one, which carry ``failed_rules``
(``;``-separated names) and ``reason`` (one readable clause per broken rule). The two
parts always add up to the input: nothing is dropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from platform_assets.sources.contract import SourceSpec
from platform_assets.tables import quarantine_spec


@dataclass(frozen=True)
class RowRule:
    """``violated`` is true where the row breaks the rule; null counts as not broken.

    ``explain`` renders the reason clause for a breaking row (defaults to ``description``).
    """

    name: str
    description: str
    violated: pl.Expr
    explain: pl.Expr | None = None


@dataclass(frozen=True)
class Split:
    """Result of :func:`split_by_rules`: ``valid`` + ``rejected`` rows = input rows."""

    valid: pl.DataFrame
    rejected: pl.DataFrame


def split_by_rules(frame: pl.DataFrame, rules: Sequence[RowRule]) -> Split:
    """Split ``frame`` into rows passing every rule and rows breaking at least one.

    ``rejected`` has two extra columns: ``failed_rules`` and ``reason`` (String).
    """
    failed = pl.concat_list(
        [pl.when(r.violated.fill_null(False)).then(pl.lit(r.name)).otherwise(pl.lit(None, pl.String)) for r in rules]
    ).list.drop_nulls()
    reasons = pl.concat_list(
        [
            pl.when(r.violated.fill_null(False))
            .then(pl.format("{}: {}", pl.lit(r.name), r.explain if r.explain is not None else pl.lit(r.description)))
            .otherwise(pl.lit(None, pl.String))
            for r in rules
        ]
    ).list.drop_nulls()
    marked = frame.with_columns(_failed=failed, _reasons=reasons)
    is_valid = pl.col("_failed").list.len() == 0
    valid = marked.filter(is_valid).drop("_failed", "_reasons")
    rejected = marked.filter(~is_valid).with_columns(
        failed_rules=pl.col("_failed").list.join(";"),
        reason=pl.col("_reasons").list.join("; "),
    ).drop("_failed", "_reasons")
    return Split(valid=valid, rejected=rejected)


def quarantine_rows(rejected: pl.DataFrame, source: SourceSpec) -> pl.DataFrame:
    """Shape rejected raw rows for ``quarantine.<source>``: original text fields + why."""
    spec = quarantine_spec(source)
    return rejected.select(
        partition_date=pl.col("file_date"),
        source_file=pl.col("source_file"),
        source_row=pl.col("source_row"),
        landed_at=pl.col("landed_at"),
        failed_rules=pl.col("failed_rules"),
        reason=pl.col("reason"),
        **{c: pl.col(c) for c in source.columns},
    ).select(spec.column_names)


def not_numeric(column: str, dtype: pl.DataType) -> RowRule:
    """Rule: a delivered value in ``column`` must parse as ``dtype``."""
    return RowRule(
        name=f"{column}_not_numeric",
        description=f"'{column}' must be a {dtype} number",
        violated=pl.col(column).is_not_null() & pl.col(column).str.strip_chars().cast(dtype, strict=False).is_null(),
        explain=pl.format("'{}' is not a number in '{}'", pl.col(column), pl.lit(column)),
    )


def required(column: str) -> RowRule:
    """Rule: ``column`` must be present (not NA or empty)."""
    return RowRule(
        name=f"{column}_missing",
        description=f"'{column}' is required but missing",
        violated=pl.col(column).is_null(),
    )


def duplicate_of_earlier_row(key: Sequence[str], name: str) -> RowRule:
    """Rule: the first row (lowest file, row) of each ``key`` wins; later copies break it."""
    return RowRule(
        name=name,
        description=f"another row already has the same ({', '.join(key)})",
        violated=pl.int_range(pl.len()).over(list(key), order_by=["source_file", "source_row"]) > 0,
    )
