"""Bounded memory for any window and any day: work is done in batches of at most a row budget.

A ranged run over a year (or ten) must not hold the window in memory, and one day of ten
million rows must not hold the day. Every step reads and writes in **batches** whose rows
stay under one budget, ``PLATFORM_BATCH_ROWS`` (default 200,000 rows: a batch's working set,
about 0.5 GB in the clean step, stays well inside a 2 GiB run):

* consecutive small days are grouped into chunks of whole days under the budget
  (:func:`plan_chunks`), so the real year runs as two batches;
* a day with more rows than the budget is a chunk of its own, read and written in
  batches of at most the budget (a landing file a batch of lines at a time, a lake file a
  batch of rows at a time), so its memory is the batch's, not the day's.

Rules that compare rows (the grain's uniqueness) stay exact across batches: within a chunk
of whole days they are judged in memory (each table's grain contains its partition date,
so no duplicate spans two days), and for a day split into batches the warehouse judges them
over the whole day (:mod:`platform_assets.assets.clean`).
"""

from __future__ import annotations

import datetime as dt
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar, cast

#: Default row budget of a batch (``PLATFORM_BATCH_ROWS``).
DEFAULT_BATCH_ROWS = 200_000


def batch_rows() -> int:
    """The row budget of a batch: ``PLATFORM_BATCH_ROWS`` (default 200,000 rows), read at each call.

    Raises:
        ValueError: the variable is not a positive integer.
    """
    text = os.getenv("PLATFORM_BATCH_ROWS", str(DEFAULT_BATCH_ROWS))
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise ValueError(f"PLATFORM_BATCH_ROWS must be a positive number of rows, got {text!r}")
    return value


DateRange = tuple[dt.date, dt.date]
T = TypeVar("T")
_END = object()


def plan_chunks(
    first: dt.date, last: dt.date, rows_per_day: Mapping[dt.date, int], budget: int | None = None
) -> list[DateRange]:
    """Split ``first..last`` (inclusive) into consecutive day ranges of at most ``budget`` rows.

    Args:
        first, last: the window, inclusive.
        rows_per_day: rows of each day (days absent count as 0).
        budget: row budget per chunk (> 0); default :func:`batch_rows`.

    Returns:
        Inclusive ``(first, last)`` ranges covering the window exactly once, in order. A day
        with more rows than the budget is a chunk of its own.

    Raises:
        ValueError: ``last`` is before ``first`` or ``budget`` is not positive.
    """
    if last < first:
        raise ValueError(f"empty window {first}..{last}")
    budget = batch_rows() if budget is None else budget
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
            yield cast(T, item)


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
