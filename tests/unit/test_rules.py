"""Splitting rows by rules (``platform_assets.transforms.rules``)."""

import polars as pl

from platform_assets.transforms.rules import RowRule, duplicate_of_earlier_row, split_by_rules


def _frame() -> pl.DataFrame:
    # Deliberately not in (source_file, source_row) order.
    return pl.DataFrame(
        {
            "source_file": ["b.csv", "a.csv", "b.csv", "a.csv", "a.csv", "c.csv"],
            "source_row": [1, 7, 0, 3, 9, 0],
            "key": ["x", "x", "y", "y", "z", None],
            "value": [5, 6, -1, 8, None, 2],
        }
    )


RULES = [
    RowRule(
        name="value_negative",
        description="value must be >= 0",
        violated=pl.col("value") < 0,
        explain=pl.format("got {}", pl.col("value")),
    ),
    duplicate_of_earlier_row(["key"], "duplicate_key"),
]


def test_the_earliest_file_and_row_of_a_key_wins_wherever_it_sits_in_the_frame():
    split = split_by_rules(_frame(), RULES)

    assert split.valid.height + split.rejected.height == 6
    valid = set(split.valid.select("source_file", "source_row").iter_rows())
    # x: a.csv:7 precedes b.csv:1; y: b.csv:0 breaks a value rule, so a.csv:3 is y's first
    # valid row; z and the null key are alone; a null value breaks nothing.
    assert valid == {("a.csv", 7), ("a.csv", 3), ("a.csv", 9), ("c.csv", 0)}
    reasons = {
        (f, r): (rules, reason)
        for f, r, rules, reason in split.rejected.select(
            "source_file", "source_row", "failed_rules", "reason"
        ).iter_rows()
    }
    assert reasons == {
        ("b.csv", 1): ("duplicate_key", "duplicate_key: another row already has the same (key)"),
        ("b.csv", 0): ("value_negative", "value_negative: got -1"),
    }


def test_every_broken_rule_of_a_row_is_named_in_order():
    rules = [
        RowRule(name="big", description="value must be < 6", violated=pl.col("value") >= 6),
        RowRule(name="even", description="value must be odd", violated=pl.col("value") % 2 == 0),
    ]
    split = split_by_rules(_frame(), rules)

    broken = {
        (f, r): rules for f, r, rules in split.rejected.select("source_file", "source_row", "failed_rules").iter_rows()
    }
    assert broken == {("a.csv", 7): "big;even", ("a.csv", 3): "big;even", ("c.csv", 0): "even"}
    assert split.rejected.filter(pl.col("source_file") == "a.csv", pl.col("source_row") == 7)["reason"].item() == (
        "big: value must be < 6; even: value must be odd"
    )
    assert split.valid.columns == _frame().columns
    assert split.rejected.columns == [*_frame().columns, "failed_rules", "reason"]
