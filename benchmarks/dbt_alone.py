"""dbt's own cost for one window, without Dagster's run: the reference for ``dbt_day`` / ``dbt_year``.

Usage (``benchmarks/run_benchmark.py`` runs it; the environment carries the warehouse
connection ``PLATFORM_PG*`` and the window ``PLATFORM_DBT_MIN_DATE`` / ``_MAX_DATE``)::

    .venv/bin/python benchmarks/dbt_alone.py --target-path dbt_project/target/benchmark

It imports Dagster first, as every Dagster run has before it touches dbt (the floor pays
that), then times importing dbt and one ``dbt build`` of the whole project with the flags
the platform's dbt step passes, through dbt's programmatic entry point (``dbtRunner``, as
the platform runs dbt). Prints one line ``BENCHMARK {"dbt_import_s": .., "dbt_build_s": ..}``
(seconds) and exits 1 if the build failed.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import dagster  # noqa: F401  (already paid by the floor: not part of dbt's cost)

PROJECT = Path(__file__).resolve().parent.parent / "dbt_project"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target-path", required=True, help="dbt's target folder (seeded with partial-parse state)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    from dbt.cli.main import dbtRunner

    imported = time.perf_counter()
    result = dbtRunner().invoke(
        [
            "build",
            "--project-dir",
            str(PROJECT),
            "--profiles-dir",
            str(PROJECT),
            "--target-path",
            args.target_path,
            "--no-write-json",
            "--log-level-file",
            "none",
            "--log-level",
            "warn",
        ]
    )
    built = time.perf_counter()
    print(
        "BENCHMARK "
        + json.dumps({"dbt_import_s": round(imported - started, 3), "dbt_build_s": round(built - imported, 3)})
    )
    return 0 if result.success else 1


if __name__ == "__main__":
    sys.exit(main())
