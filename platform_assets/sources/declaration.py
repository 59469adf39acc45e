"""A landing source as declared in YAML, and what it compiles to.

One ``defs.yaml`` (component type :class:`platform_assets.components.LandingSource`)
describes a source completely: where its files land and how they are named, whether it is
daily (partitioned by the date in the file name) or reference data, its columns with types,
descriptions and rules, its warehouse table, the quarantine-share limit, owners and
freshness. :class:`SourceDeclaration` validates that YAML (pydantic; unknown keys are
errors) and compiles it into:

* the landing contract (:class:`~platform_assets.sources.contract.SourceSpec`);
* the clean and quarantine tables (:class:`~platform_assets.tables.TableSpec`);
* the rules (:class:`~platform_assets.transforms.rules.RowRule`), one vocabulary for both
  the quarantine routing and the pandera-backed asset checks;
* the clean transform: raw text frame -> ``Split(valid, rejected)``.

Rule names follow two conventions: parse rules name the *delivered* column
(``distance_not_numeric``, ``carrier_missing``, ``time_hour_unparseable``); value rules name
the *clean* column and the check with its argument, as pandera does
(``distance_miles.greater_than(0)``, ``origin.isin(['EWR', 'JFK', 'LGA'])``).

What rules cannot express goes in a Python hook named in the YAML (``hook:
module:attribute``, a :class:`TransformHook`), e.g. flights' time-zone logic.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

import dagster as dg
import polars as pl
from pydantic import Field, model_validator

from platform_assets.sources.contract import SourceSpec
from platform_assets.tables import LINEAGE_COLUMNS, UTC_TIMESTAMP, TableSpec, quarantine_spec
from platform_assets.transforms.rules import RowRule, Split, duplicate_of_earlier_row, split_by_rules

ColumnType = Literal["string", "integer", "bigint", "float", "boolean", "date", "timestamp"]

DTYPES: dict[str, pl.DataType] = {
    "string": pl.String(),
    "integer": pl.Int32(),
    "bigint": pl.Int64(),
    "float": pl.Float64(),
    "boolean": pl.Boolean(),
    "date": pl.Date(),
    "timestamp": UTC_TIMESTAMP,
}
RAW_PREFIX = "raw__"
NULLED_VALUES = "nulled_values"
NULLED_PREFIX = "nulled__"  # working-frame flag: this row's value of the column was nulled as impossible

Number = int | float


class ValueRules(dg.Model, dg.Resolvable):
    """Value rules on one column; a null value passes every one of them (use ``required``)."""

    min: Number | None = Field(None, description="smallest allowed value (inclusive)")
    max: Number | None = Field(None, description="largest allowed value (inclusive)")
    greater_than: Number | None = Field(None, description="values must be strictly greater")
    less_than: Number | None = Field(None, description="values must be strictly smaller")
    pattern: str | None = Field(None, description="regular expression the whole value must match (anchor it)")
    allowed: list[str] | None = Field(None, description="the only allowed values")
    basis: str | None = Field(
        None, description="where the limits come from (a record, a standard, physics); listed in the data dictionary"
    )

    def has_limits(self) -> bool:
        return any(
            getattr(self, k) is not None for k in ("min", "max", "greater_than", "less_than", "pattern", "allowed")
        )


class ColumnDeclaration(ValueRules):
    """A column of the landing file, with three tiers of value rules:

    * its own value rules (``min`` ...) are ERROR rules: a row breaking one is quarantined
      (for values that make the whole row unusable, e.g. a key in the wrong format);
    * ``impossible`` rules catch a reading that cannot be true while the rest of the row is
      sound (a wind speed beyond any ever measured): the value is set to null and the
      row's ``nulled_values`` column says which value and why;
    * ``plausible`` rules are WARN rules for the unusual but possible: reported by a
      check, the value kept.
    """

    name: str = Field(description="column name in the landing file's header")
    type: ColumnType = Field("string", description="type in the clean table")
    description: str = Field("", description="meaning and unit, shown in the UI and in dbt docs")
    rename: str | None = Field(None, description="column name in the clean table (default: name)")
    keep: bool = Field(True, description="false: typed and usable by rules, but not written to the clean table")
    required: bool = Field(False, description="a missing value (NA or empty) quarantines the row")
    format: str | None = Field(None, description="strptime format for date/timestamp (timestamps are UTC)")
    impossible: ValueRules | None = Field(
        None, description="beyond these the value is physically impossible: set to null, flagged in nulled_values"
    )
    plausible: ValueRules | None = Field(None, description="WARN rules: reported, not blocking")

    @property
    def clean_name(self) -> str:
        return self.rename or self.name


class DerivedColumn(ValueRules):
    """A column computed from others: by a SQL expression (polars SQL), as the local date
    or hour of a UTC timestamp, or by the source's Python hook."""

    name: str = Field(description="column name in the clean table")
    type: ColumnType = Field(description="type in the clean table")
    description: str = Field("", description="meaning and unit, shown in the UI and in dbt docs")
    keep: bool = Field(True, description="false: usable by rules and other columns, but not written to the clean table")
    sql: str | None = Field(None, description="polars SQL expression over the typed columns")
    local_date_of: str | None = Field(None, description="UTC timestamp column; its date in `local_timezone`")
    local_hour_of: str | None = Field(None, description="UTC timestamp column; its hour in `local_timezone`")
    from_hook: bool = Field(False, description="computed by the source's Python hook")
    inputs: list[str] = Field(
        [],
        description="for column lineage of a hook column: the columns it is computed from "
        "(this source's columns, or `<source>.<column>` of another source's clean table)",
    )
    plausible: ValueRules | None = Field(None, description="WARN rules: reported, not blocking")

    @model_validator(mode="after")
    def _one_way(self) -> DerivedColumn:
        ways = [w for w in ("sql", "local_date_of", "local_hour_of") if getattr(self, w)] + (
            ["from_hook"] if self.from_hook else []
        )
        if len(ways) != 1:
            raise ValueError(
                f"derived column '{self.name}' needs exactly one of sql, local_date_of, local_hour_of, from_hook; got {ways or 'none'}"
            )
        return self

    @property
    def clean_name(self) -> str:
        return self.name

    @property
    def local_source(self) -> str:
        """The UTC timestamp column a ``local_date_of`` / ``local_hour_of`` column reads.

        Raises:
            ValueError: the column is computed another way.
        """
        source = self.local_date_of or self.local_hour_of
        if source is None:
            raise ValueError(f"derived column '{self.name}' is not a local date or hour")
        return source


class RuleDeclaration(dg.Model, dg.Resolvable):
    """A cross-column rule: ``expect`` is a polars SQL expression that holds for a good row
    (null counts as holding)."""

    name: str = Field(description="rule name, as quarantine reasons and check failures report it")
    expect: str = Field(description="e.g. `arr_at > dep_at` or `dewp_f <= temp_f + 0.5`")
    description: str = Field("", description="what the rule means, listed in the data dictionary")
    severity: Literal["error", "warn"] = Field(
        "error",
        description="error: the row is quarantined and the check blocks; warn: reported by the plausibility check",
    )
    basis: str | None = Field(None, description="where the rule's limit comes from; listed in the data dictionary")


class ReferenceDeclaration(dg.Model, dg.Resolvable):
    """A WARN check: values of ``column`` should exist as ``key`` in another source's clean table."""

    column: str = Field(description="clean column of this source whose values are looked up")
    source: str = Field(description="the referenced source's name, e.g. planes")
    key: str = Field(description="clean column of the referenced source's table holding the keys")
    name: str | None = Field(None, description="check name (default <column>_in_<source>)")


class LandingDeclaration(dg.Model, dg.Resolvable):
    """Where the files land and how they are named and read."""

    folder: str = Field(description="folder under the landing root")
    partitioning: Literal["daily", "reference"] = Field(
        description="daily: <folder>/YYYY-MM-DD.csv[.gz], one file per partition; reference: <folder>/<file>.csv[.gz], replaced whole"
    )
    file: str | None = Field(None, description="reference file name without suffix (default: the source name)")
    missing_drop: Literal["fail", "empty"] = Field(
        "fail", description="daily: a day without a file fails the run, or is written empty and reported"
    )
    null_values: list[str] = Field(["NA", ""], description="field values read as missing")


class TableDeclaration(dg.Model, dg.Resolvable):
    """The clean warehouse table ``clean.<name>``."""

    name: str | None = Field(None, description="table name (default: the source name)")
    grain: list[str] = Field(description="clean columns identifying a row; unique, the first delivered row wins")
    duplicate_rule: str | None = Field(None, description="name of the uniqueness rule (default duplicate_<grain>)")
    partition_column: str | None = Field(
        None, description="daily: the clean date column that must equal the file's date"
    )
    not_null: list[str] = Field([], description="further clean columns that may not be null")
    column_order: list[str] | None = Field(
        None, description="order of the clean table's columns (default: declaration order)"
    )


class FreshnessDeclaration(dg.Model, dg.Resolvable):
    """A daily source is fresh when the previous day's partition is materialized by the deadline,
    and its producer is on time when the previous day's drop has landed by the drop deadline."""

    deadline_cron: str = Field("0 6 * * *", description="cron of the daily deadline, in local_timezone")
    drop_deadline_cron: str = Field(
        "0 2 * * *",
        description="cron by which the producer's drop of the previous day is due in the landing zone, in "
        "local_timezone; a later drop fails landing/<name>'s freshness check (the producer is late)",
    )


@dataclass(frozen=True)
class TransformHook:
    """Python for what rules cannot express, named in a source's YAML as ``module:attribute``.

    ``derive(frame, warehouse)`` adds the ``from_hook`` derived columns to the typed frame
    (typed columns under their clean names, delivered text as ``raw__<column>``, lineage) and
    returns it with the same rows in the same order. ``rules()`` gives the hook's own
    row rules (e.g. a clock time that is not HHMM). ``deps`` are assets the hook reads.
    """

    derive: Callable[[pl.DataFrame, Any], pl.DataFrame]
    rules: Callable[[], list[RowRule]] = field(default=lambda: [])
    deps: tuple[str, ...] = ()


class SourceDeclaration(dg.Model, dg.Resolvable):
    """One landing source, as its ``defs.yaml`` declares it: the ``attributes`` of a
    ``LandingSource`` component (see the module docstring for what it compiles to)."""

    name: str = Field(description="source name: assets raw_<name> and clean_<name>, tables clean/quarantine.<name>")
    description: str = Field(description="what one row is, where it comes from")
    owners: list[str] = Field(["team:data-platform"], description="Dagster owners (team:... or an email)")
    landing: LandingDeclaration = Field(description="where the files land and how they are read")
    table: TableDeclaration = Field(description="the clean warehouse table")
    columns: list[ColumnDeclaration] = Field(min_length=1, description="the landing file's columns, every one of them")
    derived: list[DerivedColumn] = Field([], description="columns computed from the delivered ones")
    rules: list[RuleDeclaration] = Field([], description="cross-column rules a good row satisfies")
    references: list[ReferenceDeclaration] = Field([], description="WARN checks against another source's keys")
    quarantine_share_limit: float = Field(
        0.02, ge=0, le=1, description="largest share of a day's (or delivery's) rows that may be quarantined"
    )
    local_timezone: str = Field("UTC", description="IANA zone of local dates and hours (local_date_of, freshness)")
    hook: str | None = Field(None, description="module:attribute of a TransformHook")
    freshness: FreshnessDeclaration | None = Field(
        None, description="daily sources: the deadline of the platform's freshness check"
    )
    heavy: bool = Field(
        False,
        description="true for a large source: under PLATFORM_EXECUTOR=celery its raw and clean steps go to the "
        "workers of the `heavy` queue",
    )
    code_version: str = Field(
        "1",
        description="Dagster code version of the source's assets; bump it when the declaration changes what a row becomes",
    )

    @model_validator(mode="after")
    def _consistent(self) -> SourceDeclaration:
        names = [c.name for c in self.columns]
        if len(set(names)) != len(names):
            raise ValueError(f"source '{self.name}': a landing column is declared twice in {names}")
        clean = self._all_clean_names()
        for what, cols in (("table.grain", self.table.grain), ("table.not_null", self.table.not_null)):
            unknown = [c for c in cols if c not in clean]
            if unknown:
                raise ValueError(
                    f"source '{self.name}': {what} names unknown column(s) {unknown}; known: {sorted(clean)}"
                )
        if self.landing.partitioning == "daily" and not self.table.partition_column:
            raise ValueError(f"source '{self.name}': a daily source needs table.partition_column")
        if self.table.partition_column and self.table.partition_column not in clean:
            raise ValueError(
                f"source '{self.name}': table.partition_column '{self.table.partition_column}' is not a column"
            )
        for column in self.columns:
            if column.impossible is not None and (column.required or column.clean_name in self.table.grain):
                raise ValueError(
                    f"source '{self.name}': column '{column.name}' is required or in the grain, so an impossible value "
                    "cannot be nulled; declare its limits as ERROR rules (min, max, ...) to quarantine the row"
                )
        if any(d.from_hook for d in self.derived) and not self.hook:
            raise ValueError(f"source '{self.name}': derived columns from_hook need a `hook:`")
        if self.table.column_order is not None and set(self.table.column_order) != set(self._kept_names()):
            raise ValueError(
                f"source '{self.name}': table.column_order must list exactly the kept columns {self._kept_names()}"
            )
        known = {*clean, *(c.name for c in self.columns), "file_date", "source_file", "source_row", "landed_at"}
        for rule in self.rules:
            try:
                read = set(pl.sql_expr(rule.expect).meta.root_names())
            except Exception as exc:  # polars raises several error types for bad SQL
                raise ValueError(
                    f"source '{self.name}': rule '{rule.name}': cannot parse expect '{rule.expect}': {exc}"
                ) from exc
            if read - known:
                raise ValueError(
                    f"source '{self.name}': rule '{rule.name}' reads unknown column(s) {sorted(read - known)}; "
                    f"known: {sorted(clean)}"
                )
        for derived in self.derived:
            unknown = [i for i in derived.inputs if i not in known and "." not in i]
            if unknown:
                raise ValueError(
                    f"source '{self.name}': derived '{derived.name}' inputs name unknown column(s) {unknown}"
                )
            source = derived.local_date_of or derived.local_hour_of
            if source and source not in clean:
                raise ValueError(f"source '{self.name}': derived '{derived.name}' reads unknown column '{source}'")
        return self

    def _all_clean_names(self) -> list[str]:
        return [c.clean_name for c in self.columns] + [d.name for d in self.derived]

    def _kept_names(self) -> list[str]:
        return [c.clean_name for c in self.all_columns() if c.keep]

    def all_columns(self) -> list[ColumnDeclaration | DerivedColumn]:
        """The delivered columns, then the derived ones."""
        return [*self.columns, *self.derived]

    # -- compiled parts ---------------------------------------------------------------

    @property
    def daily(self) -> bool:
        return self.landing.partitioning == "daily"

    @property
    def partition_column_name(self) -> str:
        """``table.partition_column`` of a daily source.

        Raises:
            ValueError: the source declares none (only reference sources may omit it).
        """
        if self.table.partition_column is None:
            raise ValueError(f"source '{self.name}' has no table.partition_column")
        return self.table.partition_column

    @cached_property
    def source_spec(self) -> SourceSpec:
        """The landing contract of this source."""
        return SourceSpec(
            name=self.name,
            folder=self.landing.folder,
            columns=tuple(c.name for c in self.columns),
            daily=self.daily,
            file=self.landing.file or self.name,
            null_values=tuple(self.landing.null_values),
        )

    @cached_property
    def table_spec(self) -> TableSpec:
        """``clean.<table>``: the kept columns (declared types and descriptions) plus lineage."""
        declared = {c.clean_name: c for c in self.all_columns() if c.keep}
        order = self.table.column_order or list(declared)
        columns = {name: DTYPES[declared[name].type] for name in order}
        descriptions = {name: declared[name].description for name in order}
        for name, (dtype, description) in LINEAGE_COLUMNS.items():
            columns[name], descriptions[name] = dtype, description
        if self.nullifying_rules():
            columns[NULLED_VALUES] = pl.String()
            descriptions[NULLED_VALUES] = (
                "values set to null because they are physically impossible, '; '-separated as "
                "'<column>.<rule> (got <value>)'; null when nothing was nulled"
            )
        return TableSpec(
            schema="clean",
            name=self.table.name or self.name,
            columns=columns,
            descriptions=descriptions,
            grain=tuple(self.table.grain),
            window_column=self.table.partition_column if self.daily else None,
            not_null=tuple(
                c
                for c in [*self.table.not_null, *[c.clean_name for c in self.columns if c.required and c.keep]]
                if c in columns
            ),
        )

    @cached_property
    def quarantine_spec(self) -> TableSpec:
        return quarantine_spec(self.source_spec)

    @cached_property
    def transform_hook(self) -> TransformHook | None:
        """The hook named in ``hook:``, imported.

        Raises:
            ValueError: the module or attribute does not exist or is not a TransformHook.
        """
        if not self.hook:
            return None
        module_name, _, attribute = self.hook.partition(":")
        try:
            hook = getattr(importlib.import_module(module_name), attribute)
        except (ImportError, AttributeError) as exc:
            raise ValueError(f"source '{self.name}': hook '{self.hook}' not found: {exc}") from exc
        if not isinstance(hook, TransformHook):
            raise ValueError(
                f"source '{self.name}': hook '{self.hook}' is a {type(hook).__name__}, not a TransformHook"
            )
        return hook

    def column_lineage(self) -> dict[str, list[tuple[str, str]]]:
        """For each column of the clean table, the (asset, column) pairs it is computed from:
        ``raw_<source>`` columns (named as in the landing file) or another source's
        ``clean_<source>`` columns. Feeds ``dagster/column_lineage``."""
        landing = {c.clean_name: c.name for c in self.columns} | {c.name: c.name for c in self.columns}
        raw_asset = f"raw_{self.name}"
        derived = {d.name: d for d in self.derived}
        resolving: set[str] = set()

        def deps(name: str) -> list[tuple[str, str]]:
            if name in landing:
                return [(raw_asset, landing[name])]
            if "." in name:
                source, column = name.split(".", 1)
                return [(f"clean_{source}", column)]
            spec = derived.get(name)
            if spec is None or name in resolving:
                return []
            resolving.add(name)
            local_of = spec.local_date_of or spec.local_hour_of
            if spec.sql:
                inputs = sorted(pl.sql_expr(spec.sql).meta.root_names())
            elif local_of:
                inputs = [local_of]
            else:
                inputs = spec.inputs
            found = [dep for i in inputs for dep in deps(i)]
            resolving.discard(name)
            return list(dict.fromkeys(found))

        table = self.table_spec
        lineage = {
            name: deps(name) for name in table.column_names if name not in LINEAGE_COLUMNS and name != NULLED_VALUES
        }
        for name in LINEAGE_COLUMNS:
            lineage[name] = [(raw_asset, name)]
        if NULLED_VALUES in table.columns:
            lineage[NULLED_VALUES] = [(raw_asset, c.name) for c in self.columns if c.impossible is not None]
        return lineage

    def nullifying_rules(self) -> dict[str, list[RowRule]]:
        """By clean column, the ``impossible`` rules: a value breaking one is set to null."""
        return {
            c.clean_name: value_rules(c.clean_name, c.impossible, "error", on_clean=False)
            for c in self.columns
            if c.impossible is not None and c.impossible.has_limits()
        }

    def row_rules(self) -> list[RowRule]:
        """Every rule of the source, in the order they are reported."""
        kept = set(self._kept_names())
        rules: list[RowRule] = []
        for column in self.columns:
            raw = pl.col(RAW_PREFIX + column.name)
            # a value nulled as impossible parsed fine: it is not "unparseable"
            nulled = pl.col(NULLED_PREFIX + column.clean_name) if column.impossible is not None else pl.lit(False)
            if column.required:
                rules.append(
                    RowRule(
                        name=f"{column.name}_missing",
                        description=f"'{column.name}' is required but missing",
                        violated=raw.is_null(),
                    )
                )
            if column.type in ("integer", "bigint", "float"):
                rules.append(
                    RowRule(
                        name=f"{column.name}_not_numeric",
                        description=f"'{column.name}' must be a {column.type} number",
                        violated=raw.is_not_null() & pl.col(column.clean_name).is_null() & ~nulled,
                        explain=pl.format("'{}' is not a number in '{}'", raw, pl.lit(column.name)),
                    )
                )
            elif column.type in ("date", "timestamp", "boolean"):
                rules.append(
                    RowRule(
                        name=f"{column.name}_unparseable",
                        description=f"'{column.name}' must be a {column.type}"
                        + (f" like {column.format}" if column.format else ""),
                        violated=raw.is_not_null() & pl.col(column.clean_name).is_null() & ~nulled,
                        explain=pl.format("'{}' is not a {} in '{}'", raw, pl.lit(column.type), pl.lit(column.name)),
                    )
                )
        if self.daily:
            part = self.partition_column_name
            rules.append(
                RowRule(
                    name="date_not_file_date",
                    description=f"the row's {part} differs from the date in the file name",
                    violated=pl.col("file_date").is_not_null() & (pl.col(part) != pl.col("file_date")),
                    explain=pl.format("{} {} in the file for {}", pl.lit(part), pl.col(part), pl.col("file_date")),
                )
            )
        hook = self.transform_hook
        if hook is not None:
            rules += hook.rules()
        for declared in self.all_columns():
            on_clean = declared.clean_name in kept
            rules += value_rules(declared.clean_name, declared, "error", on_clean=on_clean)
            if declared.plausible is not None:
                rules += value_rules(declared.clean_name, declared.plausible, "warn", on_clean=on_clean)
        for rule in self.rules:
            expr = pl.sql_expr(rule.expect)
            rules.append(
                RowRule(
                    name=rule.name,
                    description=rule.description or f"expected {rule.expect}",
                    violated=~expr,
                    severity=rule.severity,
                    on_clean=set(expr.meta.root_names()) <= kept,
                )
            )
        grain = self.table.grain
        rules.append(duplicate_of_earlier_row(grain, self.table.duplicate_rule or f"duplicate_{'_'.join(grain)}"))
        return rules

    def typed(self, raw: pl.DataFrame, warehouse: Any = None) -> pl.DataFrame:
        """Raw text frame -> working frame: ``raw__<column>`` text, typed clean columns,
        derived columns and the lineage columns; same rows, same order."""
        lineage = [c for c in raw.columns if c not in {col.name for col in self.columns}]
        frame = raw.select(
            *[pl.col(c.name).alias(RAW_PREFIX + c.name) for c in self.columns],
            *lineage,
            *[_typed(pl.col(c.name), c.type, c.format).alias(c.clean_name) for c in self.columns],
        )
        nullifying = self.nullifying_rules()
        if nullifying:
            # Before derived columns and rules, so nothing is computed from an impossible value.
            broken = [(column, rule) for column, rules in nullifying.items() for rule in rules]
            frame = frame.with_columns(
                pl.concat_str(
                    [pl.when(rule.violated).then(rule.clause) for _, rule in broken], separator="; ", ignore_nulls=True
                )
                .replace("", None)
                .alias(NULLED_VALUES),
                *[
                    pl.any_horizontal([rule.violated.fill_null(False) for rule in rules]).alias(NULLED_PREFIX + column)
                    for column, rules in nullifying.items()
                ],
            ).with_columns(
                pl.when(pl.col(NULLED_PREFIX + column)).then(None).otherwise(pl.col(column)).alias(column)
                for column in nullifying
            )
        for derived in self.derived:
            if derived.from_hook:
                continue
            if derived.sql:
                expr = pl.sql_expr(derived.sql)
            else:
                local = pl.col(derived.local_source).dt.convert_time_zone(self.local_timezone)
                expr = local.dt.date() if derived.local_date_of else local.dt.hour()
            frame = frame.with_columns(expr.cast(DTYPES[derived.type]).alias(derived.name))
        hook = self.transform_hook
        if hook is not None:
            frame = hook.derive(frame, warehouse)
        return frame

    def duplicate_rule(self) -> RowRule:
        """The grain's uniqueness rule (the first delivered row of a key wins)."""
        return next(r for r in self.row_rules() if r.across_rows)

    def quarantine_from_raw(self, raw: pl.DataFrame, failed_rules: pl.Expr, reason: pl.Expr) -> pl.DataFrame:
        """Raw rows (text columns + lineage, ``transforms.parse``) as ``quarantine.<source>`` rows
        with the given ``failed_rules`` and ``reason`` (String expressions over ``raw``)."""
        return raw.select(
            partition_date=pl.col("file_date"),
            source_file=pl.col("source_file"),
            source_row=pl.col("source_row"),
            landed_at=pl.col("landed_at"),
            failed_rules=failed_rules,
            reason=reason,
            raw_line=pl.col("raw_line") if "raw_line" in raw.columns else pl.lit(None, pl.String),
            **{c.name: pl.col(c.name) for c in self.columns},
        ).select(self.quarantine_spec.column_names)

    def clean(self, raw: pl.DataFrame, warehouse: Any = None, judge_grain: bool = True) -> Split:
        """Type, derive and validate raw rows.

        Args:
            raw: raw frame of this source (text columns + lineage, ``transforms.parse``).
            warehouse: the warehouse resource, handed to the hook (e.g. to read airports).
            judge_grain: apply the grain's uniqueness among the valid rows. False when
                ``raw`` is one batch of a day whose rows are compared over the whole day
                elsewhere (the warehouse's staging table, ``assets.clean``).

        Returns:
            ``valid`` shaped as ``clean.<table>``, ``rejected`` as ``quarantine.<source>``;
            their row counts add up to ``raw``'s.
        """
        table = self.table_spec
        quarantine = self.quarantine_spec
        for column in ("raw_line", "parse_error"):  # raw files written before dead letters existed
            if column not in raw.columns:
                raw = raw.with_columns(pl.lit(None, pl.String).alias(column))
        # Dead letters (lines that could not be split into fields) are quarantined as they
        # are; every other rule, uniqueness included, judges the parsed rows only.
        dead = raw["parse_error"].is_not_null()
        parsed = raw.filter(~dead) if dead.any() else raw
        split = split_by_rules(self.typed(parsed, warehouse), self.row_rules(), across_rows=judge_grain)
        valid = split.valid.select(table.column_names).cast(pl.Schema(table.columns))
        rejected = split.rejected.select(
            partition_date=pl.col("file_date"),
            source_file=pl.col("source_file"),
            source_row=pl.col("source_row"),
            landed_at=pl.col("landed_at"),
            failed_rules=pl.col("failed_rules"),
            reason=pl.col("reason"),
            raw_line=pl.col("raw_line"),
            **{c.name: pl.col(RAW_PREFIX + c.name) for c in self.columns},
        ).select(quarantine.column_names)
        if dead.any():
            letters = self.quarantine_from_raw(
                raw.filter(dead),
                failed_rules=pl.col("parse_error").str.extract(r"^(\w+):"),
                reason=pl.col("parse_error"),
            )
            rejected = pl.concat([rejected, letters.cast(rejected.schema)])
        return Split(valid=valid, rejected=rejected)


def _typed(text: pl.Expr, kind: str, fmt: str | None) -> pl.Expr:
    """Delivered text -> the declared type; a value that does not parse becomes null (a parse rule reports it)."""
    text = text.str.strip_chars()
    if kind == "string":
        return text
    if kind == "date":
        return text.str.to_date(fmt or "%Y-%m-%d", strict=False)
    if kind == "timestamp":
        return text.str.to_datetime(fmt, time_unit="us", time_zone="UTC", strict=False)
    if kind == "boolean":
        return text.str.to_lowercase().replace_strict(
            {"true": True, "t": True, "1": True, "false": False, "f": False, "0": False},
            default=None,
            return_dtype=pl.Boolean,
        )
    return text.cast(DTYPES[kind], strict=False)


def _arg(value: Any) -> str:
    return repr(value) if isinstance(value, (str, list)) else f"{value}"


def value_rules(column: str, rules: ValueRules, severity: str, on_clean: bool) -> list[RowRule]:
    """The value rules of one clean column as row rules named ``<column>.<check>(<arg>)``."""
    col = pl.col(column)
    found: list[tuple[str, Any, pl.Expr]] = []
    if rules.min is not None:
        found.append(("greater_than_or_equal_to", rules.min, col < rules.min))
    if rules.max is not None:
        found.append(("less_than_or_equal_to", rules.max, col > rules.max))
    if rules.greater_than is not None:
        found.append(("greater_than", rules.greater_than, col <= rules.greater_than))
    if rules.less_than is not None:
        found.append(("less_than", rules.less_than, col >= rules.less_than))
    if rules.pattern is not None:
        found.append(("str_matches", rules.pattern, ~col.str.contains(rules.pattern)))
    if rules.allowed is not None:
        found.append(("isin", list(rules.allowed), ~col.is_in(list(rules.allowed))))
    return [
        RowRule(
            name=f"{column}.{check}({_arg(arg)})",
            description=f"{column} must satisfy {check}({_arg(arg)})",
            violated=violated,
            clause=pl.format("{} (got '{}')", pl.lit(f"{column}.{check}({_arg(arg)})"), col.cast(pl.String)),
            severity=severity,
            on_clean=on_clean,
        )
        for check, arg, violated in found
    ]
