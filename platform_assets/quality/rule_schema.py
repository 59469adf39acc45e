"""Declared rules as pandera schemas: what the asset checks validate a clean table with.

The same :class:`~platform_assets.transforms.rules.RowRule` objects that routed rows to
quarantine become pandera checks here, so a check re-validates what was written with
exactly the rules the clean step applied (ERROR), or reports the plausibility rules (WARN).
Each rule is a dataframe-level ``pa.Check`` named after the rule; pandera's failure cases
then carry the rule's name and the failing row's index.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandera.polars as pa
import polars as pl

from platform_assets.tables import TableSpec
from platform_assets.transforms.rules import RowRule


def _check(rule: RowRule) -> pa.Check:
    def holds(data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(~rule.violated.fill_null(False))

    return pa.Check(holds, name=rule.name)


def rules_schema(name: str, table: TableSpec, rules: Sequence[RowRule], severity: str) -> pa.DataFrameSchema:
    """A pandera schema for ``table`` from the rules of one ``severity`` that apply to clean rows.

    ERROR schemas also hold the table's dtypes and nullability (from ``table``), so a wrong
    type or a null in a required column fails the check too.
    """
    checks = [_check(r) for r in rules if r.on_clean and r.severity == severity]
    columns = {}
    if severity == "error":
        required = set(table.grain) | set(table.not_null)
        columns = {
            column: pa.Column(dtype, nullable=column not in required)
            for column, dtype in table.columns.items()
            if column not in ("source_file", "source_row", "landed_at")
        }
    return pa.DataFrameSchema(columns, checks=checks, name=name)
