"""Benchmark history as data: one CSV per scenario set under ``benchmarks/results/``.

Each benchmark appends one row per scenario it measured to its set's file, with the date,
the commit, the host and the reference measured in the same invocation:

* ``standard.csv`` (``make benchmark``): the platform's day, year, checks-only and 10×-year
  runs, Dagster's floor and dbt alone;
* ``day_scale.csv`` (``make benchmark-day-scale``): one very large day beside the bare
  ``COPY`` + aggregate floor;
* ``landing_latency.csv`` (``make benchmark-latency``): landing → marts latency;
* ``container.csv`` (``make container-test``): the Docker stack's launch latency and a week.
* ``backfill_chunks.csv`` (``make benchmark-backfill``): a window as one CLI run beside daemon
  backfills in chunks of N days.
* ``celery_executor.csv`` (``make benchmark-celery``): a day and a month with the in-process
  executor beside the Celery executor.

The last invocation's full detail (every round and step) stays in ``<set>.json``. Rows
dated before 2026-12-08 were collected from earlier per-invocation result files; their commit
is the one that recorded them.
``benchmarks/report.py`` renders ``docs/performance.md`` from the CSVs.
"""

from __future__ import annotations

import csv
import os
import platform
import subprocess
from collections.abc import Iterable, Mapping
from importlib.metadata import version
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"

# What each scenario's wall time is compared with, from the same invocation.
STANDARD_REFERENCE = {
    "day": "floor_day",
    "checks_only": "floor_year",
    "year": "floor_year",
    "scaled": "floor_year",
    "dbt_day": "floor_day",
    "dbt_year": "floor_year",
}
STANDARD_FIELDS = [
    "date",
    "commit",
    "label",
    "cpus",
    "memory_gib",
    "dagster",
    "scenario",
    "rounds",
    "median_s",
    "min_s",
    "max_s",
    "peak_rss_mib",
    "floor_s",
    "dbt_alone_s",
    "ratio_to_floor",
    "ratio_to_floor_plus_dbt",
]


def commit() -> str:
    """The checkout's short commit, with ``+`` when the work tree has uncommitted changes."""

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout.strip()

    head = git("rev-parse", "--short", "HEAD")
    dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
    return head + ("+" if dirty else "")


def host() -> dict[str, Any]:
    """The measuring host: cores, memory (GiB), Python, Dagster."""
    return {
        "cpus": os.cpu_count(),
        "memory_gib": round(psutil.virtual_memory().total / 1024**3, 1),
        "python": platform.python_version(),
        "dagster": version("dagster"),
    }


def standard_rows(result: Mapping[str, Any], commit_id: str, label: str) -> list[dict[str, Any]]:
    """One row per scenario of a ``run_benchmark.py`` result (its JSON document), times in
    seconds, with the floor and dbt alone of the same invocation beside it; ``label`` names
    the invocation's configuration (e.g. ``standard``, ``batch400k``)."""
    scenarios = result["scenarios"]
    machine = result.get("machine", {})

    def median(name: str) -> float | None:
        return scenarios[name]["summary"]["wall_s"]["median"] if name in scenarios else None

    def dbt_alone(name: str) -> float | None:
        # importing dbt after Dagster plus its build: the interpreter start and Dagster's
        # import are already in the floor (as run_benchmark.lower_bounds counts it)
        summary = scenarios.get(name, {}).get("summary", {})
        if "dbt_import_s" not in summary or "dbt_build_s" not in summary:
            return None
        return round(summary["dbt_import_s"]["median"] + summary["dbt_build_s"]["median"], 3)

    rows = []
    for name, scenario in scenarios.items():
        wall = scenario["summary"]["wall_s"]
        floor = median(STANDARD_REFERENCE.get(name, name))
        dbt = dbt_alone({"day": "dbt_day", "year": "dbt_year"}.get(name, ""))
        rss = scenario["summary"].get("peak_rss_mib", {}).get("median")
        rows.append(
            {
                "date": result["date"],
                "commit": commit_id,
                "label": label,
                "cpus": machine.get("cpu_count"),
                "memory_gib": machine.get("memory_gib"),
                "dagster": machine.get("dagster"),
                "scenario": name,
                "rounds": len(scenario["runs"]),
                "median_s": wall["median"],
                "min_s": wall["min"],
                "max_s": wall["max"],
                "peak_rss_mib": rss,
                "floor_s": floor if not name.startswith("floor") else None,
                "dbt_alone_s": dbt,
                "ratio_to_floor": round(wall["median"] / floor, 2) if floor and not name.startswith("floor") else None,
                "ratio_to_floor_plus_dbt": round(wall["median"] / (floor + dbt), 2) if floor and dbt else None,
            }
        )
    return rows


def append(path: Path, fields: list[str], rows: Iterable[Mapping[str, Any]]) -> None:
    """Append ``rows`` to the CSV at ``path`` (header written when the file is new).

    Raises:
        ValueError: the file's header is not ``fields`` (the set's columns changed).
    """
    new = not path.exists()
    if not new:
        with path.open(newline="") as f:
            header = next(csv.reader(f), [])
        if header != fields:
            raise ValueError(f"{path}: header {header} is not {fields}")
    with path.open("a", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields, extrasaction="raise")
        if new:
            writer.writeheader()
        for row in rows:
            writer.writerow({k: "" if row.get(k) is None else row[k] for k in fields})


def read(path: Path) -> list[dict[str, str]]:
    """The rows of a history CSV, oldest first."""
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


DAY_SCALE_FIELDS = [
    "date",
    "commit",
    "cpus",
    "memory_gib",
    "dagster",
    "batch_rows",
    "rows",
    "rounds",
    "median_s",
    "min_s",
    "max_s",
    "floor_s",
    "ratio_to_floor",
    "peak_uss_mib",
    "peak_pss_mib",
    "peak_rss_sum_mib",
    "run_tree_rss_mib",
    "rows_in_fct_flights",
]


def day_scale_rows(result: Mapping[str, Any], commit_id: str) -> list[dict[str, Any]]:
    """One row per day size of a ``day_scale.py`` result: the platform's one-day run (seconds,
    MiB) beside the bare ``COPY`` + aggregate floor of the same invocation."""
    machine = result.get("machine", {})
    rows = []
    for size in result["sizes"].values():
        day, floor = size["day"]["summary"], size["floor"]["summary"]
        rows.append(
            {
                "date": result["date"],
                "commit": commit_id,
                "cpus": machine.get("cpu_count"),
                "memory_gib": machine.get("memory_gib"),
                "dagster": machine.get("dagster"),
                "batch_rows": result.get("batch_rows"),
                "rows": size["rows"],
                "rounds": len(size["day"]["runs"]),
                "median_s": day["wall_s"]["median"],
                "min_s": day["wall_s"]["min"],
                "max_s": day["wall_s"]["max"],
                "floor_s": floor["wall_s"]["median"],
                "ratio_to_floor": round(day["wall_s"]["median"] / floor["wall_s"]["median"], 2),
                # summed over the run's process tree and the warehouse's backends; USS leaves out
                # the server's shared buffers, which summed RSS counts once per backend
                "peak_uss_mib": day.get("peak_uss_mib", {}).get("median"),
                "peak_pss_mib": day.get("peak_pss_mib", {}).get("median"),
                "peak_rss_sum_mib": day.get("peak_rss_mib", {}).get("median"),
                "run_tree_rss_mib": day.get("peak_tree_mib", {}).get("median"),
                "rows_in_fct_flights": size.get("delivered", {}).get("fct_flights"),
            }
        )
    return rows


LATENCY_FIELDS = [
    "date",
    "commit",
    "cpus",
    "samples",
    "median_s",
    "min_s",
    "max_s",
    "pickup_median_s",
    "queue_median_s",
    "run_median_s",
]


def latency_row(result: Mapping[str, Any], commit_id: str) -> dict[str, Any]:
    """The row of a ``landing_latency.py`` result: files written → marts updated, seconds."""
    summary = result["summary"]
    return {
        "date": result["date"],
        "commit": commit_id,
        "cpus": os.cpu_count(),
        "samples": len(result["samples"]),
        "median_s": summary["total_s"]["median"],
        "min_s": summary["total_s"]["min"],
        "max_s": summary["total_s"]["max"],
        "pickup_median_s": summary["pickup_s"]["median"],
        "queue_median_s": summary["queue_s"]["median"],
        "run_median_s": summary["run_s"]["median"],
    }


CONTAINER_FIELDS = ["date", "commit", "cpus", "launch_latency_s", "week_wall_s", "week_flights", "image_size_bytes"]
