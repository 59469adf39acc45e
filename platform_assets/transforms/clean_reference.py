"""raw reference tables (airlines, airports, planes) -> clean tables + quarantine.

Reference data is replaced whole on every run. Rows missing their key, with an
unparseable number, or repeating an earlier key are quarantined.
"""

from __future__ import annotations

import polars as pl

from platform_assets.quality import schemas
from platform_assets.quality.routing import split_by_model
from platform_assets.sources.contract import AIRLINES, AIRPORTS, PLANES, SourceSpec
from platform_assets.tables import CLEAN_AIRLINES, CLEAN_AIRPORTS, CLEAN_PLANES, TableSpec
from platform_assets.transforms.rules import (
    Split,
    duplicate_of_earlier_row,
    not_numeric,
    quarantine_rows,
    required,
    split_by_rules,
)


# source column -> (clean column, dtype); order follows the clean table.
_MAPPINGS: dict[str, dict[str, tuple[str, pl.DataType]]] = {
    "airlines": {"carrier": ("carrier", pl.String()), "name": ("name", pl.String())},
    "airports": {
        "faa": ("faa", pl.String()), "name": ("name", pl.String()), "lat": ("lat", pl.Float64()),
        "lon": ("lon", pl.Float64()), "alt": ("alt_ft", pl.Int32()), "tz": ("utc_offset_hours", pl.Int32()),
        "dst": ("dst", pl.String()), "tzone": ("tzone", pl.String()),
    },
    "planes": {
        "tailnum": ("tailnum", pl.String()), "year": ("year_built", pl.Int32()), "type": ("aircraft_type", pl.String()),
        "manufacturer": ("manufacturer", pl.String()), "model": ("model", pl.String()),
        "engines": ("engines", pl.Int32()), "seats": ("seats", pl.Int32()), "speed": ("speed_mph", pl.Int32()),
        "engine": ("engine_type", pl.String()),
    },
}
_MODELS = {"airlines": schemas.CleanAirlines, "airports": schemas.CleanAirports, "planes": schemas.CleanPlanes}
_SPECS: dict[str, tuple[SourceSpec, TableSpec]] = {
    "airlines": (AIRLINES, CLEAN_AIRLINES),
    "airports": (AIRPORTS, CLEAN_AIRPORTS),
    "planes": (PLANES, CLEAN_PLANES),
}


def clean_reference(name: str, raw: pl.DataFrame) -> Split:
    """Clean one reference table (``airlines``, ``airports`` or ``planes``).

    Args:
        name: which reference table ``raw`` holds.
        raw: raw frame (text source columns + lineage).

    Returns:
        ``Split.valid`` shaped as ``clean.<name>``, ``Split.rejected`` as ``quarantine.<name>``.

    Raises:
        KeyError: ``name`` is not a reference table.
    """
    source, spec = _SPECS[name]
    mapping = _MAPPINGS[name]
    key = spec.grain[0]
    source_key = next(src for src, (dst, _) in mapping.items() if dst == key)
    rules = [required(source_key), *[required(src) for src, (dst, _) in mapping.items() if dst in spec.not_null]]
    rules += [not_numeric(src, dtype) for src, (_, dtype) in mapping.items() if dtype != pl.String()]
    rules.append(duplicate_of_earlier_row([source_key], f"duplicate_{key}"))
    parsed = split_by_rules(raw, rules)
    shaped = parsed.valid.select(
        *[pl.col(src).str.strip_chars().cast(dtype).alias(dst) for src, (dst, dtype) in mapping.items()],
        "source_file",
        "source_row",
        "landed_at",
    ).select(spec.column_names)
    # Then the ERROR model's row-level rules (ranges, patterns), shared with the asset checks.
    routed = split_by_model(shaped, parsed.valid, _MODELS[name])
    rejected = pl.concat([quarantine_rows(parsed.rejected, source), quarantine_rows(routed.rejected, source)])
    return Split(valid=routed.valid, rejected=rejected)
