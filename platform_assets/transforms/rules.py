"""Row rules: the one rule vocabulary, routing rows to quarantine and backing the checks.

A :class:`RowRule` is a named boolean expression that is true where a row *breaks* the
rule. Every rule a source declares (in its YAML, see
:mod:`platform_assets.sources.declaration`) compiles to one: parse rules on the delivered
text, value rules (ranges, patterns, allowed values), cross-column rules and the grain's
uniqueness. ERROR rules route rows: :func:`split_by_rules` splits a frame into the rows
that pass every rule and the rows that break at least one, which carry ``failed_rules``
(``;``-separated names) and ``reason`` (one readable clause per broken rule); the two parts
always add up to the input. The same rules, compiled to a pandera schema
(:mod:`platform_assets.quality.rule_schema`), back the asset checks on what was written;
WARN rules only report.

Uniqueness is judged among the rows that pass every other rule, so a rejected row never
makes a valid row a duplicate.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl


@dataclass(frozen=True)
class RowRule:
    """``violated`` is true where the row breaks the rule; null counts as not broken.

    ``explain`` renders the reason clause for a breaking row, after the rule's name
    (defaults to ``description``); ``clause`` renders the whole clause instead.
    ``severity``: ``"error"`` rules quarantine the row, ``"warn"`` rules only report in checks.
    ``on_clean``: the rule reads only columns of the clean table, so the checks re-validate
    it on what was written (parse rules read the delivered text and are not re-checked).
    ``across_rows``: the rule compares rows with each other (uniqueness); it is evaluated
    after, and only among, the rows that pass every row-local rule.
    """

    name: str
    description: str
    violated: pl.Expr
    explain: pl.Expr | None = None
    clause: pl.Expr | None = None
    severity: str = "error"
    on_clean: bool = False
    across_rows: bool = False


@dataclass(frozen=True)
class Split:
    """Result of :func:`split_by_rules`: ``valid`` + ``rejected`` rows = input rows."""

    valid: pl.DataFrame
    rejected: pl.DataFrame


def split_by_rules(frame: pl.DataFrame, rules: Sequence[RowRule], across_rows: bool = True) -> Split:
    """Split ``frame`` by its ERROR rules into rows passing every rule and rows breaking one.

    Row-local rules first; then rules across rows (uniqueness) among the rows that passed,
    unless ``across_rows`` is false (``frame`` is one batch of a larger whole, whose rows
    are compared elsewhere). ``rejected`` has two extra columns: ``failed_rules`` and
    ``reason`` (String). WARN rules are ignored here.
    """
    errors = [r for r in rules if r.severity == "error"]
    first = _split(frame, [r for r in errors if not r.across_rows])
    across = [r for r in errors if r.across_rows] if across_rows else []
    if not across:
        return first
    second = _split(first.valid, across)
    return Split(valid=second.valid, rejected=pl.concat([first.rejected, second.rejected]))


def _split(frame: pl.DataFrame, rules: Sequence[RowRule]) -> Split:
    if not rules:
        return Split(
            valid=frame,
            rejected=frame.clear().with_columns(failed_rules=pl.lit(None, pl.String), reason=pl.lit(None, pl.String)),
        )
    # Each rule's verdict is judged once on the whole frame (rules across rows need all of
    # it); names and reason clauses are then rendered for the breaking rows only. Rendering
    # every rule's clause for every row cost ~2 s per 400,000 flights, nearly all thrown away.
    flags = [f"_broken_{i}" for i in range(len(rules))]
    marked = frame.with_columns(r.violated.fill_null(False).alias(flag) for r, flag in zip(rules, flags, strict=True))
    is_broken = pl.any_horizontal(flags)
    valid = marked.filter(~is_broken).drop(flags)
    failed = pl.concat_list(
        [
            pl.when(pl.col(flag)).then(pl.lit(r.name)).otherwise(pl.lit(None, pl.String))
            for r, flag in zip(rules, flags, strict=True)
        ]
    ).list.drop_nulls()
    reasons = pl.concat_list(
        [
            pl.when(pl.col(flag))
            .then(
                r.clause
                if r.clause is not None
                else pl.format("{}: {}", pl.lit(r.name), r.explain if r.explain is not None else pl.lit(r.description))
            )
            .otherwise(pl.lit(None, pl.String))
            for r, flag in zip(rules, flags, strict=True)
        ]
    ).list.drop_nulls()
    rejected = (
        marked.filter(is_broken)
        .with_columns(
            failed_rules=failed.list.join(";"),
            reason=reasons.list.join("; "),
        )
        .drop(flags)
    )
    return Split(valid=valid, rejected=rejected)


def duplicate_of_earlier_row(key: Sequence[str], name: str) -> RowRule:
    """Rule: the first row (lowest file, row) of each ``key`` wins; later copies break it.

    On a clean table (the checks) no row may repeat ``key`` at all.
    """
    in_file_order = pl.arg_sort_by("source_file", "source_row")
    return RowRule(
        name=name,
        description=f"another row already has the same ({', '.join(key)})",
        # Hash the key in (file, row) order, then map back to the frame's order: half the
        # time of numbering rows within each key group (a sort per group).
        violated=~pl.struct(list(key)).gather(in_file_order).is_first_distinct().gather(in_file_order.arg_sort()),
        on_clean=True,
        across_rows=True,
    )
