"""Bad-input suite: every defect class a real upstream produces, through real
ranged runs against the embedded PostgreSQL, with the outcome asserted for each:

* row-level defects are **published**: the day's other rows reach ``clean.flights`` and
  the bad row is in ``quarantine.flights`` with its reason (or, for a malformed tail
  number, kept with the value nulled and flagged); raw = clean + quarantined per day;
* file-level defects **fail the partition** with a message naming the file and the
  defect, are not retried, and the previous good state of the window survives.
"""

from __future__ import annotations

import datetime as dt
import gzip
import re
from pathlib import Path

import pytest

from platform_assets.assets.raw import raw_lake_key
from platform_assets.sources.registry import source_specs
from tests.integration.conftest import query

FLIGHTS = source_specs()["flights"]
COL = {name: i for i, name in enumerate(FLIGHTS.columns)}
SELECTION = "key:raw_flights or key:clean_flights or key:raw_airports or key:clean_airports"
WINDOW = (dt.date(2013, 1, 2), dt.date(2013, 1, 10))


def _day(n: int) -> dt.date:
    return dt.date(2013, 1, n)


def _key(day: dt.date, suffix: str = ".csv") -> str:
    return FLIGHTS.daily_key(day, suffix)


def _set(line: str, column: str, value: str) -> str:
    fields = line.split(",")
    fields[COL[column]] = value
    return ",".join(fields)


def _lines(landing, day: dt.date) -> list[str]:
    return landing.read_bytes(_key(day)).decode().splitlines()


def _state(warehouse) -> list[tuple]:
    """The window's clean and quarantined rows, summarised per day, for before/after comparison."""
    return query(
        warehouse,
        "select 'clean', flight_date, count(*), md5(string_agg(flight_id || coalesce(tailnum, ''), ',' order by flight_id)) "
        "from clean.flights where flight_date between %s and %s group by 2 "
        "union all select 'quarantine', partition_date, count(*), md5(string_agg(source_file || source_row, ',' order by source_file, source_row)) "
        "from quarantine.flights where partition_date between %s and %s group by 2 order by 1, 2",
        (*WINDOW, *WINDOW),
    )


@pytest.fixture(scope="module")
def originals(landing):
    """The window's real drops; restored (and the window re-run) after the module."""
    saved = {day: landing.read_bytes(_key(day)) for day in (WINDOW[0] + dt.timedelta(n) for n in range(9))}
    yield saved
    for day, data in saved.items():
        landing.write_bytes(_key(day), data)
        if landing.exists(_key(day, ".csv.gz")):
            landing.delete(_key(day, ".csv.gz"))


@pytest.fixture(scope="module")
def defective_window(originals, landing, run_window):
    """Row-level defects of every class written into the window's files, then one ranged run.

    Returns, per defect, the day and what the test expects to find."""
    lines = {day: data.decode().splitlines() for day, data in originals.items()}
    genuine = lines[_day(10)][1:4]  # three real flights of 01-10, delivered again in 01-02's file
    files: dict[dt.date, bytes] = {}
    files[_day(2)] = ("\n".join(lines[_day(2)] + genuine) + "\n").encode()
    d3 = lines[_day(3)]
    files[_day(3)] = ("\n".join(d3[:5] + [d3[5] + ",extra"] + d3[6:]) + "\n").encode()
    d4 = lines[_day(4)]
    files[_day(4)] = ("\n".join(d4[:7] + [",".join(d4[7].split(",")[:6])] + d4[8:]) + "\n").encode()
    files[_day(5)] = b"\xef\xbb\xbf" + ("\n".join(lines[_day(5)]) + "\n").encode()
    d6 = lines[_day(6)]
    files[_day(6)] = ("\r\n".join(d6[:3] + [_set(d6[3], "tailnum", '"N1,23"')] + d6[4:]) + "\r\n").encode()
    d7 = lines[_day(7)]
    files[_day(7)] = ("\n".join(d7[:2] + [_set(d7[2], "distance", "far")] + d7[3:] + [d7[9]]) + "\n").encode()
    d8 = lines[_day(8)]
    files[_day(8)] = (
        "\n".join(d8[:4]).encode()
        + b"\n"
        + d8[4].encode().replace(b",", b"\xff,", 1)
        + b"\n"
        + ("\n".join(d8[5:10] + [_set(d8[10], "tailnum", '"N1')] + d8[11:]) + "\n").encode()
    )
    for day, data in files.items():
        landing.write_bytes(_key(day), data)
    result = run_window(*WINDOW, selection=SELECTION)
    assert result.success
    return lines


def _quarantined(warehouse, day: dt.date) -> dict[int, tuple]:
    rows = query(
        warehouse,
        "select source_row, failed_rules, reason, raw_line from quarantine.flights where partition_date = %s",
        (day,),
    )
    return {r[0]: r[1:] for r in rows}


def _clean_count(warehouse, day: dt.date) -> int:
    return query(warehouse, "select count(*) from clean.flights where flight_date = %s", (day,))[0][0]


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (2, {"date_not_file_date": 3}),  # relabelled rows
        (3, {"too_many_fields": 1}),
        (4, {"too_few_fields": 1}),
        (5, {}),  # byte-order mark
        (6, {}),  # CRLF and a quoted comma (tail number nulled and flagged)
        (7, {"distance_not_numeric": 1, "duplicate_flight": 1}),
        (8, {"not_utf8": 1, "malformed_quoting": 1}),
        (10, {}),  # the genuine flights imitated on 01-02
    ],
)
def test_row_level_defects_are_quarantined_and_the_rest_published(defective_window, warehouse, lake, day, expected):
    day = _day(day)
    quarantined = _quarantined(warehouse, day)
    rules: dict[str, int] = {}
    for failed, _, _ in quarantined.values():
        rules[failed] = rules.get(failed, 0) + 1
    assert rules == expected
    # reconciliation: raw = clean + quarantined, and every delivered data line is a raw row
    raw_rows = lake.parquet_row_count([raw_lake_key(FLIGHTS, day)])
    assert raw_rows == _clean_count(warehouse, day) + len(quarantined)
    delivered = len(defective_window[day]) - 1 + {2: 3, 7: 1}.get(day.day, 0)
    assert raw_rows == delivered


def test_dead_letters_keep_the_delivered_line_and_its_number(defective_window, warehouse):
    extra = _quarantined(warehouse, _day(3))[5]
    assert extra[2] == defective_window[_day(3)][5] + ",extra"
    assert extra[1].startswith("too_many_fields: line 6: 20 fields, the header has 19")
    not_utf8 = _quarantined(warehouse, _day(8))[4]
    assert not_utf8[1].startswith("not_utf8: line 5") and "\\xff" in not_utf8[2]
    unclosed = _quarantined(warehouse, _day(8))[10]
    assert unclosed[1].startswith("malformed_quoting: line 11")


def test_a_malformed_tail_number_is_nulled_and_flagged_not_published(defective_window, warehouse):
    rows = query(
        warehouse,
        "select tailnum, nulled_values from clean.flights where flight_date = %s and nulled_values is not null",
        (_day(6),),
    )
    assert rows == [(None, "tailnum.str_matches('^N[A-Z0-9]{1,5}$') (got 'N1,23')")]
    assert query(warehouse, "select count(*) from clean.flights where tailnum like '%%,%%'")[0][0] == 0


RUNBOOK = Path(__file__).resolve().parents[2] / "docs" / "operations.md"
FILE_DEFECTS = [
    ("header_renamed", lambda data: data.replace(b"carrier", b"Carrier", 1), ".csv", "missing ['carrier']"),
    ("header_not_utf8", lambda data: b"\xff" + data, ".csv", "the header is not UTF-8"),
    ("empty_file", lambda data: b"", ".csv", "empty file"),
    ("truncated_gzip", lambda data: gzip.compress(data)[:200], ".csv.gz", "not a readable gzip file"),
    ("missing_drop", None, None, "have no flights/YYYY-MM-DD.csv drop"),
]


@pytest.mark.parametrize(("name", "corrupt", "suffix", "message"), FILE_DEFECTS, ids=[d[0] for d in FILE_DEFECTS])
def test_file_level_defects_fail_the_partition_and_keep_the_previous_state(
    defective_window, originals, landing, warehouse, run_window, name, corrupt, suffix, message
):
    day = _day(9)
    before = _state(warehouse)
    assert before
    landing.delete(_key(day))
    if corrupt is not None:
        landing.write_bytes(_key(day, suffix), corrupt(originals[day]))
    try:
        result = run_window(*WINDOW, selection=SELECTION, raise_on_error=False)
        assert not result.success
        failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
        text = failure.step_failure_data.user_failure_data.description
        assert message in text and "2013-01-09" in text
        assert not [e for e in result.all_events if e.event_type_value == "STEP_UP_FOR_RETRY"]
        # the operations runbook shows this exact message (the landing root written <landing>)
        shown = re.sub(r" in \S+:", " in <landing>:", text)
        assert shown in RUNBOOK.read_text(), f"docs/operations.md does not show: {shown}"
    finally:
        if corrupt is not None:
            landing.delete(_key(day, suffix))
        landing.write_bytes(_key(day), originals[day])
    assert _state(warehouse) == before
