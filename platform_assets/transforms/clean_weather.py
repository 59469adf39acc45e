"""raw weather -> clean weather + quarantined weather.

The observation instant is the source's ``time_hour`` (UTC). The local
``year/month/day/hour`` columns repeat an hour when DST ends (2013-11-03 01:00 appears
twice per station), so they cannot identify an observation; ``time_hour`` can. Rules check
that the two agree and that the local date matches the file's date.
"""

from __future__ import annotations

import polars as pl

from platform_assets.partitions import SOURCE_TIMEZONE
from platform_assets.quality import schemas
from platform_assets.quality.routing import split_by_model
from platform_assets.sources.contract import WEATHER
from platform_assets.tables import CLEAN_WEATHER
from platform_assets.transforms.rules import (
    RowRule,
    Split,
    duplicate_of_earlier_row,
    not_numeric,
    quarantine_rows,
    required,
    split_by_rules,
)

INTEGER_COLUMNS = ("year", "month", "day", "hour", "wind_dir")
FLOAT_COLUMNS = ("temp", "dewp", "humid", "wind_speed", "wind_gust", "precip", "pressure", "visib")
RENAMES = {
    "temp": "temp_f", "dewp": "dewp_f", "humid": "humidity_pct", "wind_dir": "wind_dir_deg",
    "wind_speed": "wind_speed_mph", "wind_gust": "wind_gust_mph", "precip": "precip_in",
    "pressure": "pressure_mb", "visib": "visibility_mi",
}


def _typed(raw: pl.DataFrame) -> pl.DataFrame:
    casts = {f"{c}_n": pl.col(c).str.strip_chars().cast(pl.Int32, strict=False) for c in INTEGER_COLUMNS}
    casts |= {f"{c}_n": pl.col(c).str.strip_chars().cast(pl.Float64, strict=False) for c in FLOAT_COLUMNS}
    frame = raw.with_columns(
        **casts,
        observed_at=pl.col("time_hour").str.strip_chars().str.to_datetime("%Y-%m-%dT%H:%M:%SZ", time_unit="us", time_zone="UTC", strict=False),
    )
    local = pl.col("observed_at").dt.convert_time_zone(SOURCE_TIMEZONE)
    return frame.with_columns(observation_date=local.dt.date(), _local_hour=local.dt.hour().cast(pl.Int32))


def _rules() -> list[RowRule]:
    rules = [required(c) for c in ("origin", "year", "month", "day", "hour", "time_hour")]
    rules += [not_numeric(c, pl.Int32) for c in INTEGER_COLUMNS]
    rules += [not_numeric(c, pl.Float64) for c in FLOAT_COLUMNS]
    rules += [
        RowRule(
            name="time_hour_unparseable",
            description="'time_hour' must be an ISO-8601 UTC hour like 2013-01-01T06:00:00Z",
            violated=pl.col("time_hour").is_not_null() & pl.col("observed_at").is_null(),
        ),
        RowRule(
            name="local_time_mismatch",
            description="year/month/day/hour disagree with time_hour converted to America/New_York",
            violated=(pl.col("observation_date") != pl.date(pl.col("year_n"), pl.col("month_n"), pl.col("day_n")))
            | (pl.col("_local_hour") != pl.col("hour_n")),
            explain=pl.format("local {}-{}-{} hour {} vs time_hour {}", "year", "month", "day", "hour", "time_hour"),
        ),
        RowRule(
            name="date_not_file_date",
            description="observation's local date differs from the date in the file name",
            violated=pl.col("file_date").is_not_null() & (pl.col("observation_date") != pl.col("file_date")),
            explain=pl.format("observation date {} in file for {}", "observation_date", "file_date"),
        ),
        duplicate_of_earlier_row(["origin", "observed_at"], "duplicate_observation"),
    ]
    return rules


def clean_weather(raw: pl.DataFrame) -> Split:
    """Type and validate raw weather.

    Args:
        raw: raw weather frame (text source columns + lineage; see ``transforms.parse``).

    Returns:
        ``Split.valid`` shaped as ``clean.weather`` (:data:`platform_assets.tables.CLEAN_WEATHER`),
        ``Split.rejected`` shaped as ``quarantine.weather``; together they hold every raw row.
    """
    parsed = split_by_rules(_typed(raw), _rules())
    shaped = parsed.valid.select(
        "origin",
        "observed_at",
        "observation_date",
        *[pl.col(f"{src}_n").alias(dst) for src, dst in RENAMES.items()],
        "source_file",
        "source_row",
        "landed_at",
    ).cast(dict(CLEAN_WEATHER.columns))
    # Then the ERROR model's row-level rules, shared with the asset checks.
    routed = split_by_model(shaped, parsed.valid, schemas.CleanWeather)
    rejected = pl.concat([quarantine_rows(parsed.rejected, WEATHER), quarantine_rows(routed.rejected, WEATHER)])
    return Split(valid=routed.valid, rejected=rejected)
