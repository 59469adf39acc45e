"""Pandera failure cases as the checks report them: which row broke which rule."""

import pandera.polars as pa
import polars as pl


def failure_cases(frame: pl.DataFrame, model: pa.DataFrameSchema | type[pa.DataFrameModel]) -> pl.DataFrame:
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
        schema={
            "failure_case": pl.String,
            "schema_context": pl.String,
            "column": pl.String,
            "check": pl.String,
            "check_number": pl.Int32,
            "index": pl.Int32,
        }
    )


def rule_name(schema_context: pl.Expr, column: pl.Expr, check: pl.Expr) -> pl.Expr:
    """``<column>.<check>`` for column rules, ``<check>`` for whole-row (dataframe) rules."""
    return pl.when(schema_context == "Column").then(pl.format("{}.{}", column, check)).otherwise(check)
