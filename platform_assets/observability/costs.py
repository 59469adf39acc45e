"""``platform-assets costs``: what each asset's steps cost over its recent runs.

Reads the ``cost/*`` metadata every step writes (:mod:`platform_assets.observability.step_cost`)
from the Dagster instance's materialization events, one figure set per run (a ranged run
writes one materialization per partition, all with the same step figures), and
tabulates per asset: medians over the last N runs of wall and CPU seconds, peak memory,
rows written and rows per second, the warehouse table's latest size and rows, and a trend
of wall time over those runs. Optional prices turn CPU seconds and stored gigabytes into
money:

* ``PLATFORM_PRICE_CPU_HOUR``: price of one CPU-hour (e.g. ``0.04``);
* ``PLATFORM_PRICE_GB_MONTH``: price of one GB of warehouse storage for a month (e.g. ``0.115``);
* ``PLATFORM_CURRENCY``: label for both (default ``USD``).
"""

from __future__ import annotations

import os
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import dagster as dg

SPARKS = "▁▂▃▄▅▆▇█"
# a ranged run writes one materialization per partition; read enough records for N year-long runs
RECORDS_PER_RUN = 400


@dataclass(frozen=True)
class AssetCost:
    """Medians of one asset's step figures over its last ``runs`` runs (newest first in ``wall_by_run``)."""

    asset: str
    runs: int
    wall_s: float | None
    cpu_s: float | None
    peak_rss_mib: float | None
    rows_written: float | None
    rows_per_s: float | None
    table_bytes: int | None
    table_rows: int | None
    wall_by_run: tuple[float, ...]

    @property
    def trend(self) -> str:
        """Wall time oldest -> newest as a sparkline, and the newest run against the median of the others."""
        series = list(reversed(self.wall_by_run))
        if not series:
            return ""
        low, high = min(series), max(series)
        spark = "".join(SPARKS[int((v - low) / (high - low) * (len(SPARKS) - 1)) if high > low else 0] for v in series)
        if len(series) < 2:
            return spark
        before = statistics.median(series[:-1])
        change = (series[-1] - before) / before * 100 if before else 0.0
        return f"{spark} {change:+.0f}%"


def _whole(value: float | None) -> int | None:
    return None if value is None else int(value)


def _figures(sets: list[dict[str, float]], name: str) -> list[float]:
    """The figure ``name`` of every run that recorded it, in the runs' order."""
    return [figures[name] for figures in sets if figures.get(name) is not None]


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def asset_costs(instance: dg.DagsterInstance, asset_keys: Iterable[dg.AssetKey], runs: int = 10) -> list[AssetCost]:
    """Per asset, the step figures of its last ``runs`` runs that recorded them (assets never run are listed empty)."""
    out = []
    for key in asset_keys:
        records = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=key), limit=runs * RECORDS_PER_RUN, ascending=False
        ).records
        per_run: dict[str, dict[str, float]] = {}
        for record in records:
            run_id = record.event_log_entry.run_id
            if run_id in per_run:
                continue
            materialization = record.asset_materialization
            figures = {
                name.removeprefix("cost/"): float(value.value)
                for name, value in (materialization.metadata if materialization else {}).items()
                if name.startswith("cost/") and isinstance(value.value, int | float)
            }
            if figures:
                per_run[run_id] = figures
            if len(per_run) == runs:
                break
        sets = list(per_run.values())  # newest first

        latest = sets[0] if sets else {}
        out.append(
            AssetCost(
                asset=key.to_user_string(),
                runs=len(sets),
                wall_s=_median(_figures(sets, "wall_s")),
                cpu_s=_median(_figures(sets, "cpu_s")),
                peak_rss_mib=_median(_figures(sets, "peak_rss_mib")),
                rows_written=_median(_figures(sets, "rows_written")),
                rows_per_s=_median(_figures(sets, "rows_per_s")),
                table_bytes=_whole(latest.get("table_bytes")),
                table_rows=_whole(latest.get("table_rows")),
                wall_by_run=tuple(_figures(sets, "wall_s")),
            )
        )
    return out


def _fmt(value: float | None, digits: int = 1) -> str:
    if value is None:
        return "-"
    return f"{value:,.{digits}f}" if digits else f"{value:,.0f}"


def render_costs(costs: Sequence[AssetCost], runs: int, environ: dict[str, str] | None = None) -> str:
    """The costs table as text (with price columns when prices are set in ``environ``)."""
    env = os.environ if environ is None else environ
    cpu_price = float(env["PLATFORM_PRICE_CPU_HOUR"]) if env.get("PLATFORM_PRICE_CPU_HOUR") else None
    gb_price = float(env["PLATFORM_PRICE_GB_MONTH"]) if env.get("PLATFORM_PRICE_GB_MONTH") else None
    currency = env.get("PLATFORM_CURRENCY", "USD")
    header = [
        "asset",
        "runs",
        "wall s",
        "cpu s",
        "peak MiB",
        "rows written",
        "rows/s",
        "table MiB",
        "table rows",
        f"wall trend (last {runs})",
    ]
    if cpu_price is not None:
        header.append(f"cpu {currency}/run")
    if gb_price is not None:
        header.append(f"storage {currency}/month")
    rows = []
    for c in costs:
        row = [
            c.asset,
            str(c.runs),
            _fmt(c.wall_s, 2),
            _fmt(c.cpu_s, 2),
            _fmt(c.peak_rss_mib, 0),
            _fmt(c.rows_written, 0),
            _fmt(c.rows_per_s, 0),
            _fmt(c.table_bytes / 2**20 if c.table_bytes is not None else None, 2),
            _fmt(c.table_rows, 0),
            c.trend,
        ]
        if cpu_price is not None:
            row.append(_fmt(c.cpu_s / 3600 * cpu_price if c.cpu_s is not None else None, 6))
        if gb_price is not None:
            row.append(_fmt(c.table_bytes / 1e9 * gb_price if c.table_bytes is not None else None, 6))
        rows.append(row)
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(cells):
        return "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )  # noqa: E731

    return "\n".join([line(header), line(["-" * w for w in widths]), *map(line, rows)])
