"""Chunk planning: whole days, in order, covering the window once, under the row budget."""

from __future__ import annotations

import datetime as dt

import pytest

from platform_assets.chunking import days_of, plan_chunks

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
