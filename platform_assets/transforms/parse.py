"""Faithful parse of one landing CSV into a raw frame with lineage columns.

Raw frames keep every source column as text, exactly as delivered (``NA`` and empty
fields become null), so nothing is lost or reinterpreted before the clean step, which
owns typing. Lineage columns are appended:

=============  ===============  ====================================================
source_file    String           landing key, e.g. ``flights/2013-01-01.csv``
source_row     Int32            1-based data row number (header is row 0; blank lines are not rows)
landed_at      Datetime UTC     last-modified time of the landing file
ingested_at    Datetime UTC     when this parse ran
file_date      Date             date in the file name (daily sources; null otherwise)
raw_line       String           a dead letter's delivered line(s); null for parsed rows
parse_error    String           a dead letter's defect, ``<defect>: <detail>``; null for parsed rows
=============  ===============  ====================================================

**What is all-or-nothing and what is per row.** A defect of the *file* — unreadable
compression, a header that is not UTF-8 or breaks the contract, an empty file — fails the
file (:class:`LandingContractError`): without a readable header no line can be read
safely. A defect of *one line* — more or fewer fields than the header, a malformed quoted
field, bytes that are not UTF-8 — makes that line a **dead letter**: a row whose source
columns are null, with the delivered text in ``raw_line`` and the defect in
``parse_error`` (the clean step quarantines it with that reason), while every other line
of the file is published. Lines are split with Python's :mod:`csv` module (strict
quoting) to find the defects, and the sound lines are parsed by polars.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import itertools
from dataclasses import dataclass

import polars as pl

from platform_assets.sources.contract import LandingContractError, SourceSpec

UTC_TIMESTAMP = pl.Datetime("us", "UTC")
LINEAGE_SCHEMA = {
    "source_file": pl.String,
    "source_row": pl.Int32,
    "landed_at": UTC_TIMESTAMP,
    "ingested_at": UTC_TIMESTAMP,
    "file_date": pl.Date,
    "raw_line": pl.String,
    "parse_error": pl.String,
}

#: Row-level parse defects: the dead letter's rule name and what it means.
PARSE_DEFECTS = {
    "too_many_fields": "the line has more fields than the header",
    "too_few_fields": "the line has fewer fields than the header",
    "malformed_quoting": "a quoted field is not closed, or text follows its closing quote",
    "not_utf8": "the line's bytes are not UTF-8 text",
}


def raw_schema(source: SourceSpec) -> pl.Schema:
    """Schema of a raw frame for ``source``: its columns as String, then the lineage columns."""
    return pl.Schema({**{c: pl.String for c in source.columns}, **LINEAGE_SCHEMA})


def empty_raw_frame(source: SourceSpec) -> pl.DataFrame:
    return pl.DataFrame(schema=raw_schema(source))


@dataclass(frozen=True)
class DeadLetter:
    """One delivered line (or run of lines) that could not be split into the header's fields."""

    row: int  # data row number it occupies (header = 0)
    line: int  # 1-based physical line number of its first line (header = line 1)
    text: str
    defect: str  # a key of PARSE_DEFECTS
    detail: str

    @property
    def message(self) -> str:
        return f"{self.defect}: line {self.line}: {self.detail}"


def _decode(data: bytes, source_file: str) -> tuple[str, dict[int, tuple[str, int]]]:
    """UTF-8 text of the file (a leading byte-order mark dropped) and, by 0-based line
    index, the lines that are not UTF-8 (their text with the bad bytes escaped, and the
    offset of the first bad byte); those lines are blank in the returned text."""
    try:
        # utf-8-sig: a leading byte-order mark (spreadsheet exports) is accepted and dropped.
        return data.decode("utf-8-sig"), {}
    except UnicodeDecodeError:
        pass
    lines, bad = [], {}
    raw_lines = data.split(b"\n")
    for index, raw in enumerate(raw_lines):
        try:
            lines.append(raw.decode("utf-8-sig" if index == 0 else "utf-8"))
        except UnicodeDecodeError as exc:
            if index == 0:
                raise LandingContractError(f"{source_file}: the header is not UTF-8 text (byte {exc.start})") from exc
            bad[index] = (raw.decode("utf-8", errors="backslashreplace").rstrip("\r"), exc.start)
            lines.append("")
    return "\n".join(lines), bad


def _every_line_has_the_header_shape(text: str, width: int) -> bool:
    """Fast check (vectorised) that every data line is one record of ``width`` fields.

    A line without quotes has exactly ``width - 1`` commas; a line with quotes is split by
    the csv module on its own. False on a blank line, a quoted field spanning lines or any
    doubt: the exact line-by-line scan (:func:`_scan`) then decides.
    """
    lines = pl.Series(text.split("\n")[1:], dtype=pl.String).str.strip_suffix("\r")
    if lines.len() and lines[-1] == "":
        lines = lines.head(-1)  # the file's final newline
    quoted = lines.str.contains('"', literal=True)
    plain = lines.filter(~quoted)
    if not (plain.str.count_matches(",", literal=True) == width - 1).all() or (plain == "").any():
        return False
    for line in lines.filter(quoted):
        try:
            records = list(csv.reader([line], strict=True))
        except csv.Error:
            return False
        if len(records) != 1 or len(records[0]) != width:
            return False
    return True


def _judge(record: list[str] | None, width: int, error: csv.Error | None) -> tuple[str, str] | None:
    """(defect, detail) of one csv record, or None if it has the header's shape."""
    if error is not None:
        return "malformed_quoting", str(error)
    if len(record) > width:
        return "too_many_fields", f"{len(record)} fields, the header has {width}"
    if len(record) < width:
        return "too_few_fields", f"{len(record)} fields, the header has {width}"
    return None


def _scan(
    lines: list[str], width: int, not_utf8: dict[int, tuple[str, int]]
) -> tuple[list[tuple[int, int, int]], list[DeadLetter]]:
    """Split ``lines`` (header first) into records with strict CSV quoting.

    Returns the sound records as (data row, first line index, end line index), the dead
    letters (blank lines are skipped). A record that spans several lines
    and is malformed is judged on its first line alone, and reading resumes after it, so
    one stray quote cannot swallow the rest of the file.
    """
    good: list[tuple[int, int, int]] = []
    dead: list[DeadLetter] = []
    row, pos = 0, 1
    while pos < len(lines):
        reader = csv.reader(itertools.islice(lines, pos, None), strict=True)
        start = pos
        while True:
            error = record = None
            try:
                record = next(reader)
            except StopIteration:
                pos = len(lines)
                break
            except csv.Error as exc:
                error = exc
            end = pos + reader.line_num
            if record == [] and error is None:
                if start in not_utf8:
                    row += 1
                    text, byte = not_utf8[start]
                    dead.append(DeadLetter(row, start + 1, text, "not_utf8", f"invalid byte at offset {byte} of the line"))
                start = end
                continue
            defect = _judge(record, width, error)
            if defect is not None and end - start > 1:
                # re-judge the first line alone and resume after it
                one = csv.reader([lines[start]], strict=True)
                try:
                    defect = _judge(next(one), width, None) or ("malformed_quoting", "a quoted field spans lines")
                except csv.Error as exc:
                    defect = _judge(None, width, exc)
                row += 1
                dead.append(DeadLetter(row, start + 1, lines[start].rstrip("\r\n"), *defect))
                pos = start + 1
                break
            row += 1
            if defect is None:
                good.append((row, start, end))
            else:
                dead.append(DeadLetter(row, start + 1, "".join(lines[start:end]).rstrip("\r\n"), *defect))
            start = end
    return good, dead


def parse_landing_csv(
    data: bytes,
    *,
    source: SourceSpec,
    source_file: str,
    landed_at: dt.datetime,
    ingested_at: dt.datetime,
    file_date: dt.date | None = None,
) -> pl.DataFrame:
    """Parse one landing file (plain or gzip CSV bytes) into a raw frame (schema :func:`raw_schema`).

    Every data line becomes one row: a parsed row, or a dead letter (source columns null,
    ``raw_line`` and ``parse_error`` set) when the line breaks the CSV shape.

    Raises:
        LandingContractError: a file-level defect: unreadable gzip, an empty file, a
            header that is not UTF-8, lacks a contract column or has an unexpected one.
            The message names the file.
    """
    if source_file.endswith(".gz"):
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise LandingContractError(f"{source_file}: not a readable gzip file ({exc})") from exc
    text, not_utf8 = _decode(data, source_file)
    if not text.strip():
        raise LandingContractError(f"{source_file}: empty file (no header); expected columns {list(source.columns)}")
    header = [h.strip() for h in next(csv.reader([text.partition("\n")[0]]))]
    missing = [c for c in source.columns if c not in header]
    unexpected = [c for c in header if c not in source.columns]
    if missing or unexpected or len(set(header)) != len(header):
        raise LandingContractError(
            f"{source_file}: header does not match the {source.name} contract; "
            f"missing {missing}, unexpected {unexpected}, header {header}"
        )
    if not not_utf8 and _every_line_has_the_header_shape(text, len(header)):
        frame, rows, dead = _read(text, header, source, source_file), None, []
    else:
        lines = io.StringIO(text).readlines()
        good, dead = _scan(lines, len(header), not_utf8)
        body = "".join(lines[0:1] + [ln if ln.endswith("\n") else ln + "\n" for r, s, e in good for ln in lines[s:e]])
        frame, rows = _read(body, header, source, source_file), [r for r, _, _ in good]
    parsed = frame.select(
        *source.columns,
        source_file=pl.lit(source_file, pl.String),
        source_row=pl.int_range(1, pl.len() + 1, dtype=pl.Int32) if rows is None else pl.Series(rows, dtype=pl.Int32),
        landed_at=_utc_literal(landed_at),
        ingested_at=_utc_literal(ingested_at),
        file_date=pl.lit(file_date, pl.Date),
        raw_line=pl.lit(None, pl.String),
        parse_error=pl.lit(None, pl.String),
    )
    if not dead:
        return parsed
    letters = pl.DataFrame(
        {
            "source_row": [d.row for d in dead],
            "raw_line": [d.text for d in dead],
            "parse_error": [d.message for d in dead],
        },
        schema={"source_row": pl.Int32, "raw_line": pl.String, "parse_error": pl.String},
    ).select(
        *[pl.lit(None, pl.String).alias(c) for c in source.columns],
        source_file=pl.lit(source_file, pl.String),
        source_row=pl.col("source_row"),
        landed_at=_utc_literal(landed_at),
        ingested_at=_utc_literal(ingested_at),
        file_date=pl.lit(file_date, pl.Date),
        raw_line=pl.col("raw_line"),
        parse_error=pl.col("parse_error"),
    )
    return pl.concat([parsed, letters]).sort("source_row")


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def _utc_literal(moment: dt.datetime) -> pl.Expr:
    """``moment`` (timezone-aware) as a UTC timestamp literal.

    Built from its integer microseconds: polars converts an aware ``datetime`` literal
    through Python's time zone machinery, ~0.2 ms a time, paid twice per landing file.
    """
    micros = (moment - _EPOCH) // dt.timedelta(microseconds=1)
    return pl.lit(micros, pl.Int64).cast(UTC_TIMESTAMP)


def _read(text: str, header: list[str], source: SourceSpec, source_file: str) -> pl.DataFrame:
    try:
        return pl.read_csv(io.StringIO(text), schema={c: pl.String for c in header}, null_values=list(source.null_values))
    except pl.exceptions.ComputeError as exc:  # lines the csv module accepted but polars does not
        raise LandingContractError(f"{source_file}: unreadable CSV: {str(exc).splitlines()[0]}") from exc
