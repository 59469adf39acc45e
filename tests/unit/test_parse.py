"""Landing-file parsing: the contract errors name the file and the problem."""

from __future__ import annotations

import datetime as dt
import gzip
import io

import polars as pl
import pytest

from platform_assets.sources.contract import LandingContractError, parse_daily_key
from platform_assets.sources.nycflights13 import sample_data_dir
from platform_assets.sources.registry import source_specs
from platform_assets.transforms.parse import iter_landing_batches, parse_landing_csv

SOURCES = source_specs()
FLIGHTS = SOURCES["flights"]

NOW = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
HEADER = ",".join(FLIGHTS.columns)
ROW = "2013,1,1,517,515,2,830,819,11,UA,1545,N14228,EWR,IAH,227,1400,5,15,2013-01-01T10:00:00Z"


def _parse(text: str | bytes, name: str = "flights/2013-01-01.csv"):
    data = text.encode() if isinstance(text, str) else text
    return parse_landing_csv(
        data, source=FLIGHTS, source_file=name, landed_at=NOW, ingested_at=NOW, file_date=dt.date(2013, 1, 1)
    )


def test_text_is_kept_verbatim_with_lineage():
    frame = _parse(f"{HEADER}\n{ROW}\n{ROW.replace('517', 'NA')}\n")
    assert frame["dep_time"].to_list() == ["517", None]
    assert frame["source_row"].to_list() == [1, 2]
    assert frame["source_file"].unique().to_list() == ["flights/2013-01-01.csv"]


def test_a_byte_order_mark_is_accepted_and_dropped():
    with_bom = _parse(b"\xef\xbb\xbf" + f"{HEADER}\n{ROW}\n".encode())
    assert with_bom.drop("ingested_at").equals(_parse(f"{HEADER}\n{ROW}\n").drop("ingested_at"))
    assert with_bom.columns[0] == "year"


def test_gzip_drops_are_read():
    frame = _parse(gzip.compress(f"{HEADER}\n{ROW}\n".encode()), "flights/2013-01-01.csv.gz")
    assert frame.height == 1


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty file"),
        (
            HEADER.replace("dep_delay", "departure_delay") + f"\n{ROW}\n",
            "missing ['dep_delay'], unexpected ['departure_delay']",
        ),
        (HEADER.replace(",tailnum", "") + "\n", "missing ['tailnum']"),
        (b"\xff" + f"{HEADER}\n{ROW}\n".encode(), "the header is not UTF-8"),
    ],
)
def test_contract_violations_name_the_file(text, message):
    with pytest.raises(LandingContractError) as err:
        _parse(text)
    assert "flights/2013-01-01.csv" in str(err.value)
    assert message in str(err.value)


def test_daily_keys_are_checked():
    assert parse_daily_key("weather/2013-02-01.csv.gz", SOURCES)[1] == dt.date(2013, 2, 1)
    with pytest.raises(LandingContractError, match="unknown landing folder"):
        parse_daily_key("fligths/2013-02-01.csv", SOURCES)
    with pytest.raises(LandingContractError, match="not a calendar date"):
        parse_daily_key("flights/2013-02-30.csv", SOURCES)


def test_sample_package_has_the_contract_columns():
    header = (sample_data_dir() / "weather.csv").read_text().splitlines()[0]
    assert header.startswith("origin,year,month,day,hour")


# One line of each row-level defect between sound rows: (delivered line, defect).
QUOTED_TAIL = ROW.replace("N14228", '"N1,23"')  # a quoted comma: sound CSV
DEFECTS = [
    (f"{ROW},extra".encode(), "too_many_fields"),
    (ROW[:30].encode(), "too_few_fields"),
    (ROW.replace("N14228", '"N1"2').encode(), "malformed_quoting"),
    (ROW.replace("N14228", '"N1').encode(), "malformed_quoting"),  # never closed
    (ROW.encode().replace(b"N14228", b"N1\xff\xfe"), "not_utf8"),
]


@pytest.mark.parametrize(("line", "defect"), DEFECTS, ids=[d for _, d in DEFECTS])
def test_a_malformed_line_is_a_dead_letter_and_the_rest_of_the_file_is_parsed(line, defect):
    good = [ROW, QUOTED_TAIL, ROW.replace("1545", "1546")]
    data = f"{HEADER}\n{good[0]}\n".encode() + line + f"\n{good[1]}\n{good[2]}\n".encode()
    frame = _parse(data)
    assert frame["source_row"].to_list() == [1, 2, 3, 4]
    letter = frame.filter(pl.col("parse_error").is_not_null())
    assert letter["source_row"].to_list() == [2]
    assert letter["parse_error"].item().startswith(f"{defect}: line 3: ")
    assert letter["raw_line"].item() == line.decode("utf-8", errors="backslashreplace")
    assert letter.select(FLIGHTS.columns).null_count().row(0) == (1,) * len(FLIGHTS.columns)
    parsed = frame.filter(pl.col("parse_error").is_null())
    assert parsed["tailnum"].to_list() == ["N14228", "N1,23", "N14228"]
    assert parsed["flight"].to_list() == ["1545", "1545", "1546"]
    assert parsed["raw_line"].null_count() == 3


def test_a_quoted_field_may_span_lines_and_blank_lines_are_not_rows():
    multi = ROW.replace("N14228", '"N14\n228"')
    frame = _parse(f"{HEADER}\n{multi}\n\n{ROW}\n\n")
    assert frame["tailnum"].to_list() == ["N14\n228", "N14228"]
    assert frame["source_row"].to_list() == [1, 2]
    assert frame["parse_error"].null_count() == 2


def test_crlf_line_endings_are_accepted():
    assert (
        _parse(f"{HEADER}\r\n{ROW}\r\n{ROW}\r\n")
        .drop("ingested_at")
        .equals(_parse(f"{HEADER}\n{ROW}\n{ROW}\n").drop("ingested_at"))
    )


def _batches(data: bytes, batch_rows: int, name: str = "flights/2013-01-01.csv") -> list[pl.DataFrame]:
    return list(
        iter_landing_batches(
            io.BytesIO(data),
            source=FLIGHTS,
            source_file=name,
            landed_at=NOW,
            ingested_at=NOW,
            file_date=dt.date(2013, 1, 1),
            batch_rows=batch_rows,
        )
    )


# Sound rows, every defect, a quoted field spanning lines, blank lines and CRLF in one file.
MIXED = (
    f"{HEADER}\r\n{ROW}\r\n".encode()
    + b"\n".join(line for line, _ in DEFECTS)
    + f"\n\n{ROW.replace('N14228', chr(34) + 'N14' + chr(10) + '228' + chr(34))}\n{QUOTED_TAIL}\n\n{ROW}".encode()
)


@pytest.mark.parametrize("batch_rows", [1, 2, 3, 5, 100])
def test_batches_number_rows_and_lines_from_the_start_of_the_file(batch_rows):
    frames = _batches(MIXED, batch_rows)
    assert all(f.height <= batch_rows + 1 for f in frames)  # a spanning quoted field may add its line
    frame = pl.concat(frames)
    # rows: 1 sound, 5 dead letters (rows 2-6), the two-line field (row 7), the quoted comma, the last row
    assert frame["source_row"].to_list() == list(range(1, 10))
    letters = frame.filter(pl.col("parse_error").is_not_null())
    assert letters["source_row"].to_list() == [2, 3, 4, 5, 6]
    # physical lines: header 1, row 2, the defects on lines 3-7, blank line 8
    assert [e.split(": ")[0:2] for e in letters["parse_error"].to_list()] == [
        ["too_many_fields", "line 3"],
        ["too_few_fields", "line 4"],
        ["malformed_quoting", "line 5"],
        ["malformed_quoting", "line 6"],
        ["not_utf8", "line 7"],
    ]
    assert frame.filter(pl.col("parse_error").is_null())["tailnum"].to_list() == [
        "N14228",
        "N14\n228",
        "N1,23",
        "N14228",
    ]


def test_a_header_only_file_is_one_empty_batch():
    frames = _batches(f"{HEADER}\n".encode(), 10)
    assert [f.height for f in frames] == [0]
    assert (
        frames[0].schema
        == parse_landing_csv(
            f"{HEADER}\n".encode(), source=FLIGHTS, source_file="x.csv", landed_at=NOW, ingested_at=NOW
        ).schema
    )


def test_a_gzip_file_broken_after_its_first_batch_fails_the_file():
    whole = gzip.compress(f"{HEADER}\n".encode() + f"{ROW}\n".encode() * 5000)
    with pytest.raises(LandingContractError, match="flights/2013-01-01.csv.gz: not a readable gzip file"):
        _batches(whole[: len(whole) // 2], 100, "flights/2013-01-01.csv.gz")
