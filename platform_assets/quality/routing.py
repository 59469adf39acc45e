"""Row routing by a pandera model: rows breaking its row-level rules go to quarantine.

The clean step and the asset checks share one set of rules, the models in
:mod:`platform_assets.quality.schemas`: the clean step quarantines every row that breaks
an ERROR model's row-level rule (a range, a pattern, a cross-column rule), and the check
factory validates what was written with the same model.
"""

import pandera.polars as pa
import polars as pl

from platform_assets.transforms.rules import Split


class ModelContractError(RuntimeError):
    """The frame breaks a table-level rule (a missing column, a wrong dtype).

    That is a defect of the transform that built the frame, not of a row, so nothing is
    quarantined: the step fails and retrying will not help.
    """


def failure_cases(frame: pl.DataFrame, model: type[pa.DataFrameModel]) -> pl.DataFrame:
    """Pandera's failure cases of ``frame`` against ``model`` (empty frame when it passes).

    Columns: ``failure_case`` (String), ``schema_context``, ``column``, ``check``,
    ``check_number``, ``index`` (Int32 row position in ``frame``; null for table-level
    failures such as a wrong dtype).
    """
    try:
        model.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as errors:
        return errors.failure_cases
    return pl.DataFrame(
        schema={"failure_case": pl.String, "schema_context": pl.String, "column": pl.String,
                "check": pl.String, "check_number": pl.Int32, "index": pl.Int32}
    )


def rule_name(schema_context: pl.Expr, column: pl.Expr, check: pl.Expr) -> pl.Expr:
    """``<column>.<check>`` for column rules, ``<check>`` for whole-row (dataframe) rules."""
    return pl.when(schema_context == "Column").then(pl.format("{}.{}", column, check)).otherwise(check)


def split_by_model(clean: pl.DataFrame, raw: pl.DataFrame, model: type[pa.DataFrameModel]) -> Split:
    """Split row-aligned ``clean``/``raw`` frames by ``model``'s row-level rules.

    Args:
        clean: typed rows shaped like the model's table.
        raw: the same rows (same order and count) as delivered, with lineage columns.
        model: an ERROR-severity pandera model.

    Returns:
        ``valid``: the ``clean`` rows that pass every rule. ``rejected``: the ``raw`` rows of
        the others, plus ``failed_rules`` (``;``-separated ``column.check`` names) and
        ``reason`` (each rule with the offending value). Row counts add up to ``clean``'s.

    Raises:
        ValueError: ``clean`` and ``raw`` differ in length.
        ModelContractError: a table-level rule fails (dtype, missing column).
    """
    if clean.height != raw.height:
        raise ValueError(f"clean ({clean.height}) and raw ({raw.height}) rows are not aligned")
    failures = failure_cases(clean, model)
    table_level = failures.filter(pl.col("index").is_null())
    if table_level.height:
        broken = [f"{r['column']}: {r['check']} ({r['failure_case']})" for r in table_level.iter_rows(named=True)]
        raise ModelContractError(f"{model.__name__}: table-level rules broken: {'; '.join(broken)}")
    per_row = (
        failures.with_columns(
            rule=rule_name(pl.col("schema_context"), pl.col("column"), pl.col("check")),
        )
        .with_columns(
            clause=pl.when(pl.col("schema_context") == "Column")
            .then(pl.format("{} (got '{}')", pl.col("rule"), pl.col("failure_case")))
            .otherwise(pl.col("rule"))
        )
        .group_by("index")
        .agg(
            failed_rules=pl.col("rule").unique(maintain_order=True).str.join(";"),
            reason=pl.col("clause").unique(maintain_order=True).str.join("; "),
        )
        .rename({"index": "_row"})
    )
    rows = pl.int_range(pl.len(), dtype=pl.Int32).alias("_row")
    rejected_rows = per_row["_row"].implode()
    valid = clean.with_columns(rows).filter(~pl.col("_row").is_in(rejected_rows)).drop("_row")
    rejected = (
        raw.with_columns(rows).join(per_row, on="_row", how="inner", maintain_order="left").drop("_row")
    )
    return Split(valid=valid, rejected=rejected)

