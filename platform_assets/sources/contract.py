"""The landing-zone contract: what an upstream producer writes and where.

Each source declares its part in its YAML (``platform_assets/defs/sources/<name>/defs.yaml``)::

    <landing>/<folder>/YYYY-MM-DD.csv[.gz]   daily sources: one file per partition date
    <landing>/<folder>/<file>.csv[.gz]       reference sources: replaced whole

Every file is UTF-8 CSV with a header naming exactly the declared columns (any order), and
a declared null token (``NA`` or an empty field by default) for a missing value.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass

CSV_SUFFIXES = (".csv", ".csv.gz")
NULL_TOKENS = ["NA", ""]


@dataclass(frozen=True)
class SourceSpec:
    """One upstream dataset: its landing folder, its header, and whether it is daily.

    Compiled from the source's YAML (:mod:`platform_assets.sources.declaration`).
    ``file``: a reference source's file name without suffix (default: ``name``).
    ``null_values``: field values read as missing.
    """

    name: str
    folder: str
    columns: tuple[str, ...]
    daily: bool
    file: str | None = None
    null_values: tuple[str, ...] = tuple(NULL_TOKENS)

    def daily_key(self, day: dt.date, suffix: str = ".csv") -> str:
        """Landing key of this source's file for ``day``, e.g. ``flights/2013-01-01.csv``."""
        return f"{self.folder}/{day.isoformat()}{suffix}"

    def reference_key(self, suffix: str = ".csv") -> str:
        """Landing key of a reference file, e.g. ``reference/airlines.csv``."""
        return f"{self.folder}/{self.file or self.name}{suffix}"


_DAILY_NAME = re.compile(r"^(?P<folder>[a-z_]+)/(?P<date>\d{4}-\d{2}-\d{2})(?P<suffix>\.csv(\.gz)?)$")


class LandingContractError(ValueError):
    """A landing file breaks the contract (unknown folder, bad name or date, bad header)."""


def parse_daily_key(key: str, sources: Mapping[str, SourceSpec]) -> tuple[SourceSpec, dt.date]:
    """Map a daily landing key such as ``weather/2013-02-01.csv.gz`` to its source and date.

    Args:
        sources: the declared sources (:func:`platform_assets.sources.registry.source_specs`).

    Raises:
        LandingContractError: the key is not ``<daily folder>/YYYY-MM-DD.csv[.gz]``.
    """
    match = _DAILY_NAME.match(key)
    if not match:
        raise LandingContractError(f"{key}: not '<folder>/YYYY-MM-DD.csv' or '.csv.gz'")
    source = next((s for s in sources.values() if s.daily and s.folder == match["folder"]), None)
    if source is None:
        raise LandingContractError(f"{key}: unknown landing folder '{match['folder']}'")
    try:
        day = dt.date.fromisoformat(match["date"])
    except ValueError as exc:
        raise LandingContractError(f"{key}: '{match['date']}' is not a calendar date") from exc
    return source, day


@dataclass(frozen=True)
class LandingInventory:
    """The landing zone sorted against the contract.

    ``drops``: daily keys that follow it, as ``(source name, date) -> key``.
    ``reference``: reference keys that follow it. ``violations``: ``(key, reason)`` for
    every other key: an unknown folder or file name, a date that is not a calendar date or
    lies outside the partitions. Those files are never ingested, and are reported instead.
    """

    drops: dict[tuple[str, dt.date], str]
    reference: list[str]
    violations: list[tuple[str, str]]


def classify_landing_keys(
    keys: list[str], first: dt.date, last: dt.date, sources: Mapping[str, SourceSpec]
) -> LandingInventory:
    """Sort landing ``keys`` into contract-following drops and violations.

    Args:
        keys: landing keys relative to the landing root, e.g. ``flights/2013-01-01.csv``.
        first, last: the first and last date (inclusive) of the daily partitions.
        sources: the declared sources, by name.
    """
    reference_keys = {s.reference_key(suffix) for s in sources.values() if not s.daily for suffix in CSV_SUFFIXES}
    drops: dict[tuple[str, dt.date], str] = {}
    reference: list[str] = []
    violations: list[tuple[str, str]] = []
    for key in keys:
        if key in reference_keys:
            reference.append(key)
            continue
        try:
            source, day = parse_daily_key(key, sources)
        except LandingContractError as exc:
            violations.append((key, str(exc).removeprefix(f"{key}: ")))
            continue
        if not first <= day <= last:
            violations.append((key, f"date {day} is outside the partitions {first}..{last}"))
        elif (source.name, day) in drops:
            violations.append((key, f"second file for {source.name} {day} (also {drops[(source.name, day)]})"))
        else:
            drops[(source.name, day)] = key
    return LandingInventory(drops=drops, reference=reference, violations=violations)
