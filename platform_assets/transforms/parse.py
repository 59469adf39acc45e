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
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import BinaryIO, cast

import polars as pl

from platform_assets.sources.contract import LandingContractError, SourceSpec

UTC_TIMESTAMP = pl.Datetime("us", "UTC")
LINEAGE_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
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
    columns: dict[str, pl.DataType | type[pl.DataType]] = {c: pl.String for c in source.columns}
    return pl.Schema({**columns, **LINEAGE_SCHEMA})


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


def _decode(lines: list[bytes], source_file: str, first_line: int) -> tuple[str, dict[int, tuple[str, int]]]:
    """UTF-8 text of a block of ``lines`` (each with its line ending) and, by 0-based index
    in the block, the lines that are not UTF-8 (their text with the bad bytes escaped, and
    the offset of the first bad byte); those lines are blank in the returned text.

    ``first_line`` is the block's 1-based line number in the file: on line 1 (the header)
    a byte-order mark is dropped, and a header that is not UTF-8 fails the file.
    """
    data = b"".join(lines)
    try:
        # utf-8-sig: a leading byte-order mark (spreadsheet exports) is accepted and dropped.
        return data.decode("utf-8-sig" if first_line == 1 else "utf-8"), {}
    except UnicodeDecodeError:
        pass
    texts, bad = [], {}
    for index, raw in enumerate(lines):
        try:
            texts.append(raw.decode("utf-8-sig" if index == 0 and first_line == 1 else "utf-8"))
        except UnicodeDecodeError as exc:
            if index == 0 and first_line == 1:
                raise LandingContractError(f"{source_file}: the header is not UTF-8 text (byte {exc.start})") from exc
            text = raw.decode("utf-8", errors="backslashreplace").rstrip("\n").rstrip("\r")
            bad[index] = (text, exc.start)
            texts.append("\n")
    return "".join(texts), bad


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
    if error is not None or record is None:
        return "malformed_quoting", str(error)
    if len(record) > width:
        return "too_many_fields", f"{len(record)} fields, the header has {width}"
    if len(record) < width:
        return "too_few_fields", f"{len(record)} fields, the header has {width}"
    return None


def _scan(
    lines: list[str], width: int, not_utf8: dict[int, tuple[str, int]]
) -> tuple[list[tuple[int, int, int]], list[DeadLetter], int | None]:
    """Split ``lines`` (header first) into records with strict CSV quoting.

    Returns the sound records as (data row, first line index, end line index), the dead
    letters (blank lines are skipped), and the index of the first line of the first record
    that was still inside a quoted field at the end of ``lines`` (None if none): when
    ``lines`` is one batch of a longer file, that record may be closed by the next lines.
    A record that spans several lines and is malformed is judged on its first line alone,
    and reading resumes after it, so one stray quote cannot swallow the rest of the file.
    """
    good: list[tuple[int, int, int]] = []
    dead: list[DeadLetter] = []
    open_from: int | None = None
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
                    dead.append(
                        DeadLetter(row, start + 1, text, "not_utf8", f"invalid byte at offset {byte} of the line")
                    )
                start = end
                continue
            if (
                error is not None
                and end >= len(lines)
                and open_from is None
                and sum(line.count('"') for line in lines[start:end]) % 2
            ):
                open_from = start
            defect = _judge(record, width, error)
            if defect is not None and end - start > 1:
                # re-judge the first line alone and resume after it
                one = csv.reader([lines[start]], strict=True)
                try:
                    defect = _judge(next(one), width, None) or ("malformed_quoting", "a quoted field spans lines")
                except csv.Error as exc:
                    defect = _judge(None, width, exc)
                row += 1
                assert defect is not None  # _judge reports every error it is given
                dead.append(DeadLetter(row, start + 1, lines[start].rstrip("\r\n"), *defect))
                pos = start + 1
                break
            row += 1
            if defect is None:
                good.append((row, start, end))
            else:
                dead.append(DeadLetter(row, start + 1, "".join(lines[start:end]).rstrip("\r\n"), *defect))
            start = end
    return good, dead, open_from


#: Most lines a batch carries over to close a quoted field that spans lines; a field
#: still open after that many lines is malformed (judged on its first line).
QUOTED_SPAN_LINES = 1_000


def iter_landing_batches(
    stream: BinaryIO,
    *,
    source: SourceSpec,
    source_file: str,
    landed_at: dt.datetime,
    ingested_at: dt.datetime,
    file_date: dt.date | None = None,
    batch_rows: int,
) -> Iterator[pl.DataFrame]:
    """Parse one landing file (a binary stream of plain or gzip CSV) into raw frames of at most
    about ``batch_rows`` rows each (schema :func:`raw_schema`), in file order.

    Memory is bounded by the batch: the file is read a batch of lines at a time. Every data
    line becomes one row: a parsed row, or a dead letter (source columns null, ``raw_line``
    and ``parse_error`` set) when the line breaks the CSV shape. ``source_row`` and the line
    numbers in ``parse_error`` count from the start of the file, whatever the batch. A file
    with a header and no data yields one empty frame.

    Raises:
        LandingContractError: a file-level defect: unreadable gzip (also when found in a
            later batch), an empty file, a header that is not UTF-8, lacks a contract column
            or has an unexpected one. The message names the file.
        ValueError: ``batch_rows`` is not positive.
    """
    if batch_rows <= 0:
        raise ValueError(f"batch_rows must be positive, got {batch_rows}")
    if source_file.endswith(".gz"):
        stream = cast(BinaryIO, gzip.GzipFile(fileobj=stream, mode="rb"))
    try:
        header_line = stream.readline()
        header_text, _ = _decode([header_line], source_file, first_line=1)
        if not header_text.strip():
            raise LandingContractError(
                f"{source_file}: empty file (no header); expected columns {list(source.columns)}"
            )
        header = [h.strip() for h in next(csv.reader([header_text.rstrip("\r\n")]))]
        missing = [c for c in source.columns if c not in header]
        unexpected = [c for c in header if c not in source.columns]
        if missing or unexpected or len(set(header)) != len(header):
            raise LandingContractError(
                f"{source_file}: header does not match the {source.name} contract; "
                f"missing {missing}, unexpected {unexpected}, header {header}"
            )
        header_text = header_text.rstrip("\r\n") + "\n"
        lineage = _Lineage(source_file, landed_at, ingested_at, file_date)
        rows_before = lines_before = 0
        produced = False
        carry: list[bytes] = []
        while True:
            new = list(itertools.islice(stream, batch_rows))
            block = carry + new
            if not block:
                break
            frame, open_from = _parse_lines(block, header_text, header, source, lineage, rows_before, lines_before)
            if open_from is not None and new and (open_from > 0 or len(block) < QUOTED_SPAN_LINES):
                # A quoted field is still open at the batch's end: its record moves to the next batch.
                carry = block[open_from:]
                if open_from == 0:
                    continue
                block = block[:open_from]
                frame, _ = _parse_lines(block, header_text, header, source, lineage, rows_before, lines_before)
            else:
                carry = []
            rows_before += frame.height
            lines_before += len(block)
            if frame.height or not produced:
                produced = True
                yield frame
        if not produced:
            yield empty_raw_frame(source)
    except (OSError, EOFError, zlib.error) as exc:
        if not source_file.endswith(".gz"):
            raise
        raise LandingContractError(f"{source_file}: not a readable gzip file ({exc})") from exc


def parse_landing_csv(
    data: bytes,
    *,
    source: SourceSpec,
    source_file: str,
    landed_at: dt.datetime,
    ingested_at: dt.datetime,
    file_date: dt.date | None = None,
) -> pl.DataFrame:
    """Parse one landing file held in memory (plain or gzip CSV bytes) into one raw frame.

    The same parse as :func:`iter_landing_batches` in a single batch; for small files
    (reference tables, tests). Raises what it raises.
    """
    frames = list(
        iter_landing_batches(
            io.BytesIO(data),
            source=source,
            source_file=source_file,
            landed_at=landed_at,
            ingested_at=ingested_at,
            file_date=file_date,
            batch_rows=max(1, data.count(b"\n") + 1),
        )
    )
    return frames[0] if len(frames) == 1 else pl.concat(frames)


@dataclass(frozen=True)
class _Lineage:
    source_file: str
    landed_at: dt.datetime
    ingested_at: dt.datetime
    file_date: dt.date | None


def _parse_lines(
    block: list[bytes],
    header_text: str,
    header: list[str],
    source: SourceSpec,
    lineage: _Lineage,
    rows_before: int,
    lines_before: int,
) -> tuple[pl.DataFrame, int | None]:
    """Parse a batch of data lines (bytes, with their line endings) into a raw frame.

    ``rows_before`` / ``lines_before``: data rows and physical data lines of the file before
    this batch, so row and line numbers count from the start of the file. Also returns the
    index in ``block`` of the first line of a record still inside a quoted field at the
    batch's end (see :func:`_scan`), or None.
    """
    decoded, bad = _decode(block, lineage.source_file, first_line=lines_before + 2)
    text = header_text + decoded
    not_utf8 = {i + 1: v for i, v in bad.items()}  # the header is line 0 of the text
    open_from = None
    dead: list[DeadLetter] = []
    if not not_utf8 and _every_line_has_the_header_shape(text, len(header)):
        frame, rows = _read(text, header, source, lineage.source_file), None
    else:
        lines = io.StringIO(text).readlines()
        good, dead, open_line = _scan(lines, len(header), not_utf8)
        open_from = None if open_line is None else open_line - 1
        body = "".join(lines[0:1] + [ln if ln.endswith("\n") else ln + "\n" for r, s, e in good for ln in lines[s:e]])
        frame, rows = _read(body, header, source, lineage.source_file), [r + rows_before for r, _, _ in good]
    first_row = rows_before + 1
    parsed = frame.select(
        *source.columns,
        source_file=pl.lit(lineage.source_file, pl.String),
        source_row=pl.int_range(first_row, pl.len() + first_row, dtype=pl.Int32)
        if rows is None
        else pl.Series(rows, dtype=pl.Int32),
        landed_at=_utc_literal(lineage.landed_at),
        ingested_at=_utc_literal(lineage.ingested_at),
        file_date=pl.lit(lineage.file_date, pl.Date),
        raw_line=pl.lit(None, pl.String),
        parse_error=pl.lit(None, pl.String),
    )
    if not dead:
        return parsed, open_from
    dead = [replace(d, row=d.row + rows_before, line=d.line + lines_before) for d in dead]
    letters = pl.DataFrame(
        {
            "source_row": [d.row for d in dead],
            "raw_line": [d.text for d in dead],
            "parse_error": [d.message for d in dead],
        },
        schema={"source_row": pl.Int32, "raw_line": pl.String, "parse_error": pl.String},
    ).select(
        *[pl.lit(None, pl.String).alias(c) for c in source.columns],
        source_file=pl.lit(lineage.source_file, pl.String),
        source_row=pl.col("source_row"),
        landed_at=_utc_literal(lineage.landed_at),
        ingested_at=_utc_literal(lineage.ingested_at),
        file_date=pl.lit(lineage.file_date, pl.Date),
        raw_line=pl.col("raw_line"),
        parse_error=pl.col("parse_error"),
    )
    return pl.concat([parsed, letters]).sort("source_row"), open_from


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
        return pl.read_csv(
            io.StringIO(text), schema={c: pl.String for c in header}, null_values=list(source.null_values)
        )
    except pl.exceptions.ComputeError as exc:  # lines the csv module accepted but polars does not
        raise LandingContractError(f"{source_file}: unreadable CSV: {str(exc).splitlines()[0]}") from exc
