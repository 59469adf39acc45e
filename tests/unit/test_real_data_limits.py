"""The real 2013 data against the declared limits: impossible readings are out of the clean
tables (nulled and flagged, or quarantined), with reasons, and every row is accounted for."""

from __future__ import annotations

import polars as pl
import pytest

from platform_assets.sources.declaration import NULLED_VALUES
from platform_assets.sources.registry import declaration
from tests.conftest import SOURCES, parse_sample


def _limit_breaches(frame: pl.DataFrame, source: str, column: str, tier: str) -> pl.Series:
    """Rows of ``frame`` whose ``column`` breaks the source's limits of ``tier``."""
    declared = declaration(source)
    spec = next(c for c in declared.columns if c.clean_name == column)
    rules = getattr(spec, tier)
    expr = pl.lit(False)
    if rules.min is not None:
        expr |= pl.col(column) < rules.min
    if rules.max is not None:
        expr |= pl.col(column) > rules.max
    if rules.greater_than is not None:
        expr |= pl.col(column) <= rules.greater_than
    if rules.pattern is not None:
        expr |= ~pl.col(column).str.contains(rules.pattern)
    return frame.select(expr.fill_null(False)).to_series()


@pytest.mark.parametrize("source", ["weather", "planes"])
def test_impossible_readings_of_the_real_data_are_nulled_with_reasons(source):
    declared = declaration(source)
    raw = parse_sample(SOURCES[source])
    split = declared.clean(raw.with_columns(file_date=pl.lit(None, pl.Date)))
    assert split.valid.height + split.rejected.height == raw.height
    # what the delivered text says, typed independently of the clean step
    delivered = raw.select(
        [pl.col(c.name).cast(pl.Float64, strict=False).alias(c.clean_name) for c in declared.columns if c.impossible]
    )
    nulled = split.valid.filter(pl.col(NULLED_VALUES).is_not_null())
    expected = 0
    for column in [c.clean_name for c in declared.columns if c.impossible]:
        breaches = int(_limit_breaches(delivered, source, column, "impossible").sum())
        expected += breaches
        assert not _limit_breaches(split.valid, source, column, "impossible").any(), column
        flagged = nulled.filter(pl.col(NULLED_VALUES).str.contains(f"{column}.", literal=True))
        assert flagged.height == breaches, column
        assert flagged[column].null_count() == breaches, column
    assert nulled.height == expected
    if source == "weather":
        # the known 1048 mph reading at EWR on 2013-02-12 03:00 local
        assert expected == 1
        row = nulled.row(0, named=True)
        assert row["origin"] == "EWR" and row["wind_speed_mph"] is None and row["temp_f"] is not None
        assert row[NULLED_VALUES] == "wind_speed_mph.less_than_or_equal_to(253) (got '1048.36058')"


def test_malformed_tail_numbers_of_the_real_flights_are_nulled_and_the_flights_kept(raw_flights_year, clean_airports):
    from platform_assets.transforms.clean_flights import clean_flights

    split = clean_flights(raw_flights_year, clean_airports)
    assert split.valid.height + split.rejected.height == raw_flights_year.height
    delivered = raw_flights_year.select(pl.col("tailnum"))
    breaking = int(_limit_breaches(delivered, "flights", "tailnum", "impossible").sum())
    assert breaking > 0  # 'D942DN' in the 2013 data
    flagged = split.valid.filter(pl.col(NULLED_VALUES).is_not_null())
    assert flagged.height == breaking
    assert flagged["tailnum"].null_count() == breaking
    assert flagged[NULLED_VALUES].str.starts_with("tailnum.str_matches").all()
    assert not _limit_breaches(split.valid, "flights", "tailnum", "impossible").any()
