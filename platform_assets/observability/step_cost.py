"""What a step costs: wall and CPU time, peak memory, rows and bytes moved, table sizes.

Every asset step measures itself with :func:`measure_step` and attaches the figures to its
materialization as metadata, so the Dagster UI plots them over time (the asset's *Plots*
tab) and ``platform-assets costs`` can tabulate them per asset over recent runs. For a
ranged run the figures are the whole step's (one step covers the window), kept beside
the per-partition row counts.

Metadata written (all numbers):

====================  =====================================================================
``cost/wall_s``        wall-clock seconds of the step body
``cost/cpu_s``         CPU seconds (user + system) of the step's process and its children
                       (dbt runs as a child process) during the step
``cost/peak_rss_mib``  peak resident memory of the process tree, sampled every 50 ms, MiB
``cost/rows_read``     rows the step read (landing lines, lake rows, warehouse rows)
``cost/rows_written``  rows the step wrote
``cost/bytes_read``    bytes read from the landing zone / lake, where known
``cost/bytes_written`` bytes written to the lake, where known
``cost/rows_per_s``    rows written per wall second
``cost/table_bytes``   ``pg_total_relation_size`` of the warehouse table(s) written, after the step
``cost/table_rows``    rows in those tables after the step
====================  =====================================================================
"""

from __future__ import annotations

import contextlib
import os
import resource
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import psutil
from psycopg import sql

PREFIX = "cost/"


def _cpu_seconds() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


#: Highest total returned so far, per process (a forked step process starts its own).
_highest_cpu_seconds: dict[int, float] = {}


def process_tree_cpu_seconds() -> float:
    """CPU seconds (user + system) used so far by this process, its finished children and
    its live descendants (a running dbt, which ``getrusage`` cannot see until it exits).

    Never less than a previous call's result in the same process. A descendant's CPU drops
    out of the sum for a while when it ends: a child reaped between reading this process's
    times and listing its children is in neither for that reading, and a grandchild reaped
    by its own parent is counted again only once that parent has ended and been reaped.
    Without the floor, the difference between two readings could be negative.
    """
    me = psutil.Process(os.getpid())
    total = _cpu_seconds()
    for child in me.children(recursive=True):
        with contextlib.suppress(psutil.Error):
            child_times = child.cpu_times()
            total += child_times.user + child_times.system
    highest = max(total, _highest_cpu_seconds.get(me.pid, 0.0))
    _highest_cpu_seconds[me.pid] = highest
    return highest


class _PeakRss:
    """Samples the resident memory of this process and its children until stopped,
    keeping the peak so far in ``cost.peak_rss_bytes``."""

    def __init__(self, cost: StepCost, interval: float = 0.05):
        self.cost = cost
        self._stop = threading.Event()
        self._interval = interval
        self._process = psutil.Process(os.getpid())
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> None:
        total = self._process.memory_info().rss
        for child in self._process.children(recursive=True):
            with contextlib.suppress(psutil.Error):
                total += child.memory_info().rss
        self.cost.peak_rss_bytes = max(self.cost.peak_rss_bytes, total)

    def _run(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(psutil.Error):
                self._sample()
            self._stop.wait(self._interval)

    def __enter__(self) -> _PeakRss:
        self._sample()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        with contextlib.suppress(psutil.Error):
            self._sample()


@dataclass
class StepCost:
    """Counters a step fills in while it runs; :meth:`metadata` renders them after."""

    rows_read: int = 0
    rows_written: int = 0
    bytes_read: int = 0
    bytes_written: int = 0
    tables: list[str] = field(default_factory=list)  # qualified names of warehouse tables written
    wall_s: float = 0.0
    cpu_s: float = 0.0
    peak_rss_bytes: int = 0
    table_bytes: int | None = None
    table_rows: int | None = None

    def measure_tables(self, warehouse, tables: Sequence[str]) -> None:
        """Record the size on disk and rows of ``tables`` (``schema.table`` names) as they are now."""
        size = rows = 0
        with warehouse.connect() as conn:
            for name in tables:
                schema, table = name.split(".", 1)
                identifier = sql.Identifier(schema, table)
                size += conn.execute("select pg_total_relation_size(%s::regclass)", (name,)).fetchone()[0]
                rows += conn.execute(sql.SQL("select count(*) from {}").format(identifier)).fetchone()[0]
        self.table_bytes, self.table_rows = size, rows

    def metadata(self) -> dict[str, float | int]:
        figures: dict[str, float | int] = {
            "wall_s": round(self.wall_s, 3),
            "cpu_s": round(self.cpu_s, 3),
            "peak_rss_mib": round(self.peak_rss_bytes / 2**20, 1),
            "rows_read": self.rows_read,
            "rows_written": self.rows_written,
            "bytes_read": self.bytes_read,
            "bytes_written": self.bytes_written,
            "rows_per_s": round(self.rows_written / self.wall_s, 1) if self.wall_s > 0 else 0.0,
        }
        if self.table_bytes is not None:
            figures["table_bytes"] = self.table_bytes
            figures["table_rows"] = self.table_rows or 0
        return {PREFIX + k: v for k, v in figures.items()}


@contextlib.contextmanager
def measure_step() -> Iterator[StepCost]:
    """Measure the block: wall and CPU seconds, and the process tree's peak RSS.

    The block fills in rows/bytes on the yielded :class:`StepCost` and may call
    :meth:`StepCost.measure_tables`; read :meth:`StepCost.metadata` after the block.
    """
    cost = StepCost()
    wall, cpu = time.perf_counter(), _cpu_seconds()
    with _PeakRss(cost):
        try:
            yield cost
        finally:
            cost.wall_s = time.perf_counter() - wall
            cost.cpu_s = _cpu_seconds() - cpu
