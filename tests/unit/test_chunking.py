"""Chunk planning (whole days, in order, covering the window once, under the row budget) and
the overlap of chunk and day work on threads."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest

from platform_assets import chunking
from platform_assets.chunking import days_of, parallel_days, plan_chunks, prefetch_one

D = dt.date(2013, 3, 1)


def day(i: int) -> dt.date:
    return D + dt.timedelta(days=i)


def covered(chunks) -> list[dt.date]:
    return [d for chunk in chunks for d in days_of(chunk)]


@pytest.mark.parametrize("budget", [1, 5, 10, 25, 1000])
def test_chunks_cover_the_window_once_in_order_and_respect_the_budget(budget):
    rows = {day(i): (i * 7) % 11 for i in range(30)}
    chunks = plan_chunks(day(0), day(29), rows, budget)
    assert covered(chunks) == [day(i) for i in range(30)]
    for chunk in chunks:
        total = sum(rows.get(d, 0) for d in days_of(chunk))
        assert total <= budget or len(days_of(chunk)) == 1  # only a single oversized day may exceed it


def test_a_window_under_the_budget_is_one_chunk():
    assert plan_chunks(day(0), day(364), {day(i): 900 for i in range(365)}, 400_000) == [(day(0), day(364))]


def test_a_day_larger_than_the_budget_is_its_own_chunk():
    chunks = plan_chunks(day(0), day(2), {day(0): 3, day(1): 50, day(2): 3}, 10)
    assert chunks == [(day(0), day(0)), (day(1), day(1)), (day(2), day(2))]


def test_days_without_rows_still_belong_to_a_chunk():
    assert covered(plan_chunks(day(0), day(9), {}, 5)) == [day(i) for i in range(10)]


def test_an_empty_window_or_a_non_positive_budget_is_an_error():
    with pytest.raises(ValueError, match="empty window"):
        plan_chunks(day(2), day(1), {}, 10)
    with pytest.raises(ValueError, match="positive"):
        plan_chunks(day(0), day(1), {}, 0)


def test_prefetch_one_yields_every_item_in_order_and_produces_at_most_one_ahead():
    produced: list[int] = []
    consumed_while_producing: list[int] = []
    seen: list[int] = []

    def producer():
        for i in range(6):
            consumed_while_producing.append(len(seen))
            produced.append(i)
            yield i

    for item in prefetch_one(producer()):
        seen.append(item)
        time.sleep(0.01)  # let the worker run ahead if it could
        # the worker has produced this item and at most the next one
        assert len(produced) <= item + 2
    assert seen == list(range(6))
    # item i is produced while item i-1 is with the consumer, never earlier
    assert all(consumed >= i - 1 for i, consumed in enumerate(consumed_while_producing))


def test_prefetch_one_raises_the_producers_error_at_the_failing_item():
    def producer():
        yield 1
        raise KeyError("chunk 2 failed")

    seen = []
    with pytest.raises(KeyError, match="chunk 2 failed"):
        for item in prefetch_one(producer()):
            seen.append(item)
    assert seen == [1]


def test_parallel_days_keeps_the_order_overlaps_the_work_and_bounds_what_is_in_flight(monkeypatch):
    monkeypatch.setattr(chunking, "DAY_THREADS", 2)
    running, most, started = 0, 0, 0
    lock = threading.Lock()

    def work(day: int, delay: float) -> int:
        nonlocal running, most, started
        with lock:
            running += 1
            started += 1
            most = max(most, running)
        time.sleep(delay)
        with lock:
            running -= 1
        return day

    results = parallel_days(work, [(day, 0.02 if day % 2 else 0.001) for day in range(40)])
    assert next(results) == 0
    time.sleep(0.3)  # a slow consumer: the days started ahead of it stay bounded
    assert started <= 1 + 2 * 2 + 1
    assert list(results) == list(range(1, 40))
    assert most == 2  # two days at a time, never more


def test_parallel_days_raises_the_first_failure_and_cancels_the_days_not_started(monkeypatch):
    monkeypatch.setattr(chunking, "DAY_THREADS", 2)
    started = []

    def work(day: int) -> int:
        started.append(day)
        if day == 3:
            raise ValueError(f"day {day}: bad drop")
        time.sleep(0.01)
        return day

    seen = []
    with pytest.raises(ValueError, match="day 3: bad drop"):
        for day in parallel_days(work, [(day,) for day in range(100)]):
            seen.append(day)
    assert seen == [0, 1, 2]
    assert len(started) < 100
