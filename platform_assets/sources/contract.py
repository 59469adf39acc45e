"""The landing-zone contract: what an upstream producer writes and where.

::

    <landing>/flights/YYYY-MM-DD.csv[.gz]   one file per scheduled-departure date (local, America/New_York)
    <landing>/weather/YYYY-MM-DD.csv[.gz]   one file per observation date (local)
    <landing>/reference/airlines.csv[.gz], airports.csv[.gz], planes.csv[.gz]

Every file is UTF-8 CSV with a header naming exactly the columns below (any order), and
``NA`` or an empty field for a missing value: the nycflights13 layout.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

CSV_SUFFIXES = (".csv", ".csv.gz")
NULL_TOKENS = ["NA", ""]


@dataclass(frozen=True)
class SourceSpec:
    """One upstream dataset: its landing folder, its header, and whether it is daily."""

    name: str
    folder: str
    columns: tuple[str, ...]
    daily: bool

    def daily_key(self, day: dt.date, suffix: str = ".csv") -> str:
        """Landing key of this source's file for ``day``, e.g. ``flights/2013-01-01.csv``."""
        return f"{self.folder}/{day.isoformat()}{suffix}"

    def reference_key(self, suffix: str = ".csv") -> str:
        """Landing key of a reference file, e.g. ``reference/airlines.csv``."""
        return f"{self.folder}/{self.name}{suffix}"


FLIGHTS = SourceSpec(
    name="flights",
    folder="flights",
    columns=(
        "year", "month", "day", "dep_time", "sched_dep_time", "dep_delay", "arr_time",
        "sched_arr_time", "arr_delay", "carrier", "flight", "tailnum", "origin", "dest",
        "air_time", "distance", "hour", "minute", "time_hour",
    ),
    daily=True,
)
WEATHER = SourceSpec(
    name="weather",
    folder="weather",
    columns=(
        "origin", "year", "month", "day", "hour", "temp", "dewp", "humid", "wind_dir",
        "wind_speed", "wind_gust", "precip", "pressure", "visib", "time_hour",
    ),
    daily=True,
)
AIRLINES = SourceSpec(name="airlines", folder="reference", columns=("carrier", "name"), daily=False)
AIRPORTS = SourceSpec(
    name="airports", folder="reference",
    columns=("faa", "name", "lat", "lon", "alt", "tz", "dst", "tzone"), daily=False,
)
PLANES = SourceSpec(
    name="planes", folder="reference",
    columns=("tailnum", "year", "type", "manufacturer", "model", "engines", "seats", "speed", "engine"),
    daily=False,
)

SOURCES: dict[str, SourceSpec] = {s.name: s for s in (FLIGHTS, WEATHER, AIRLINES, AIRPORTS, PLANES)}

_DAILY_NAME = re.compile(r"^(?P<folder>[a-z_]+)/(?P<date>\d{4}-\d{2}-\d{2})(?P<suffix>\.csv(\.gz)?)$")


class LandingContractError(ValueError):
    """A landing file breaks the contract (unknown folder, bad name or date, bad header)."""


def parse_daily_key(key: str) -> tuple[SourceSpec, dt.date]:
    """Map a daily landing key such as ``weather/2013-02-01.csv.gz`` to its source and date.

    Raises:
        LandingContractError: the key is not ``<flights|weather>/YYYY-MM-DD.csv[.gz]``.
    """
    match = _DAILY_NAME.match(key)
    if not match:
        raise LandingContractError(f"{key}: not '<folder>/YYYY-MM-DD.csv' or '.csv.gz'")
    source = next((s for s in SOURCES.values() if s.daily and s.folder == match["folder"]), None)
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


def classify_landing_keys(keys: list[str], first: dt.date, last: dt.date) -> LandingInventory:
    """Sort landing ``keys`` into contract-following drops and violations.

    Args:
        keys: landing keys relative to the landing root, e.g. ``flights/2013-01-01.csv``.
        first, last: the first and last date (inclusive) of the daily partitions.
    """
    reference_keys = {s.reference_key(suffix) for s in SOURCES.values() if not s.daily for suffix in CSV_SUFFIXES}
    drops: dict[tuple[str, dt.date], str] = {}
    reference: list[str] = []
    violations: list[tuple[str, str]] = []
    for key in keys:
        if key in reference_keys:
            reference.append(key)
            continue
        try:
            source, day = parse_daily_key(key)
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
