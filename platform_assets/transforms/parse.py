"""Faithful parse of one landing CSV into a raw frame with lineage columns.

Raw frames keep every source column as text, exactly as delivered (``NA`` and empty
fields become null), so nothing is lost or reinterpreted before the clean step, which
owns typing. Lineage columns are appended:

=============  ===============  ====================================================
source_file    String           landing key, e.g. ``flights/2013-01-01.csv``
source_row     Int32            1-based data row number (header is row 0)
landed_at      Datetime UTC     last-modified time of the landing file
ingested_at    Datetime UTC     when this parse ran
file_date      Date             date in the file name (daily sources; null otherwise)
=============  ===============  ====================================================
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io

import polars as pl

from platform_assets.sources.contract import LandingContractError, SourceSpec

UTC_TIMESTAMP = pl.Datetime("us", "UTC")
LINEAGE_SCHEMA = {
    "source_file": pl.String,
    "source_row": pl.Int32,
    "landed_at": UTC_TIMESTAMP,
    "ingested_at": UTC_TIMESTAMP,
    "file_date": pl.Date,
}


def raw_schema(source: SourceSpec) -> pl.Schema:
    """Schema of a raw frame for ``source``: its columns as String, then the lineage columns."""
    return pl.Schema({**{c: pl.String for c in source.columns}, **LINEAGE_SCHEMA})


def empty_raw_frame(source: SourceSpec) -> pl.DataFrame:
    return pl.DataFrame(schema=raw_schema(source))


def parse_landing_csv(
    data: bytes,
    *,
    source: SourceSpec,
    source_file: str,
    landed_at: dt.datetime,
    ingested_at: dt.datetime,
    file_date: dt.date | None = None,
) -> pl.DataFrame:
    """Parse one landing file (plain or gzip CSV bytes) into a raw frame.

    Raises:
        LandingContractError: the file is empty, not UTF-8, its header lacks a contract
            column or has an unexpected one, or a row has more fields than the header.
            The message names the file and, where it applies, the row.
    """
    if source_file.endswith(".gz"):
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise LandingContractError(f"{source_file}: not a readable gzip file ({exc})") from exc
    try:
        # utf-8-sig: a leading byte-order mark (spreadsheet exports) is accepted and dropped.
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise LandingContractError(f"{source_file}: not UTF-8 text (byte {exc.start})") from exc
    if not text.strip():
        raise LandingContractError(f"{source_file}: empty file (no header); expected columns {list(source.columns)}")
    header = next(csv.reader(io.StringIO(text.partition("\n")[0])))
    header = [h.strip() for h in header]
    missing = [c for c in source.columns if c not in header]
    unexpected = [c for c in header if c not in source.columns]
    if missing or unexpected or len(set(header)) != len(header):
        raise LandingContractError(
            f"{source_file}: header does not match the {source.name} contract; "
            f"missing {missing}, unexpected {unexpected}, header {header}"
        )
    try:
        frame = pl.read_csv(
            io.StringIO(text),
            schema={c: pl.String for c in header},
            null_values=list(source.null_values),
        )
    except pl.exceptions.ComputeError as exc:
        raise LandingContractError(f"{source_file}: unreadable CSV: {str(exc).splitlines()[0]}") from exc
    return frame.select(
        *source.columns,
        source_file=pl.lit(source_file, pl.String),
        source_row=pl.int_range(1, pl.len() + 1, dtype=pl.Int32),
        landed_at=pl.lit(landed_at, UTC_TIMESTAMP),
        ingested_at=pl.lit(ingested_at, UTC_TIMESTAMP),
        file_date=pl.lit(file_date, pl.Date),
    )
