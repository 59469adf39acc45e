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
``cost/peak_rss_mib``  peak resident memory of the process tree, MiB: this process exactly, children
                       sampled every 0.5 s (see :class:`_PeakRss`)
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


#: Where Linux keeps this process's peak resident set size since start or the last reset.
_STATUS, _CLEAR_REFS = "/proc/self/status", "/proc/self/clear_refs"


def _reset_own_peak() -> bool:
    """Start this process's peak RSS over (Linux >= 4.0: ``5`` to ``clear_refs`` resets ``VmHWM``).

    Returns False where that is not possible (another OS, a read-only ``/proc``); the
    caller then samples its own RSS instead.
    """
    try:
        with open(_CLEAR_REFS, "w") as f:
            f.write("5")
    except OSError:
        return False
    return _own_peak_bytes() is not None


def _own_peak_bytes() -> int | None:
    """This process's peak RSS since :func:`_reset_own_peak` (``VmHWM``), bytes; None if unknown."""
    try:
        with open(_STATUS, "rb") as f:
            for line in f:
                if line.startswith(b"VmHWM:"):
                    return int(line.split()[1]) * 1024  # the kernel reports kB
    except OSError:
        pass
    return None


class _PeakRss:
    """The peak resident memory of this process and its descendants while a step runs.

    This process's own peak is exact and costs nothing to keep: the kernel's high-water mark
    (``VmHWM``), reset when the step starts. Descendants (dbt or another tool run as a
    subprocess) are summed every ``interval`` seconds with psutil, which reads every
    process's ``/proc/<pid>/stat`` to find them; that scan, every 50 ms as it used to be,
    took ~10% of a core and competed for the GIL with the step itself. The figure is the
    own peak plus the children's largest sampled sum: an upper bound where the two peak at
    different moments, exact when the step starts no process (dbt runs in-process by default).
    Where the high-water mark cannot be reset, this process's RSS is sampled with its children.

    A process measures one step at a time (the in-process executor runs steps one after the
    other; the multiprocess one gives each step its own process).
    """

    def __init__(self, interval: float = 0.5):
        self._interval = interval
        self._stop = threading.Event()
        self._process = psutil.Process(os.getpid())
        self._exact_own = False
        self._sampled_own = 0  # used only where the high-water mark is unavailable
        self._children = 0
        self._final_own: int | None = None  # the own peak when the step ended, kept from then on
        self._thread = threading.Thread(target=self._run, daemon=True, name="peak-rss")

    @property
    def peak_bytes(self) -> int:
        """Peak RSS of the process tree since the step started, bytes (see the class docstring)."""
        own = self._final_own
        if own is None and self._exact_own:
            own = _own_peak_bytes()
        return (own if own is not None else self._sampled_own) + self._children

    def _sample(self) -> None:
        if not self._exact_own:
            self._sampled_own = max(self._sampled_own, self._process.memory_info().rss)
        children = 0
        for child in self._process.children(recursive=True):
            with contextlib.suppress(psutil.Error):
                children += child.memory_info().rss
        self._children = max(self._children, children)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            with contextlib.suppress(psutil.Error):
                self._sample()

    def __enter__(self) -> _PeakRss:
        self._exact_own = _reset_own_peak()
        with contextlib.suppress(psutil.Error):
            self._sample()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        with contextlib.suppress(psutil.Error):
            self._sample()
        if self._exact_own:
            self._final_own = _own_peak_bytes()


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
    _peak: _PeakRss | None = field(default=None, repr=False)
    table_bytes: int | None = None
    table_rows: int | None = None

    @property
    def peak_rss_bytes(self) -> int:
        """Peak RSS of the step's process tree so far (or over the whole step, after it), bytes."""
        return self._peak.peak_bytes if self._peak is not None else 0

    def measure_tables(self, warehouse, tables: Sequence[str]) -> None:
        """Record the size on disk and rows of ``tables`` (``schema.table`` names) as they are now."""
        self.table_bytes, self.table_rows = warehouse.footprint(tables)

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
    with _PeakRss() as cost._peak:
        try:
            yield cost
        finally:
            cost.wall_s = time.perf_counter() - wall
            cost.cpu_s = _cpu_seconds() - cpu
