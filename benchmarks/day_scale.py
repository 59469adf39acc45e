"""One very large day: the platform's run of a day of 1 M, 10 M, 30 M flights beside the bare floor.

Usage (from the repo root; ``make benchmark-day-scale`` runs it with the defaults)::

    .venv/bin/python benchmarks/day_scale.py [--flights 1000000,10000000,30000000]
        [--repeats 3] [--day 2013-06-13]

For each size, ``benchmarks/day_scale_landing.py`` writes a landing zone whose one day holds
that many flights (the real day's flights repeated under distinct flight numbers; its
weather and the reference files as delivered), with its own lake and warehouse database
(``warehouse_day<N>`` on the embedded server). Then, alternating in rounds:

``floor``
    the bare floor for that file, in the same database: ``COPY`` of the landing CSV into an
    unindexed table of text columns (psycopg's ``copy``, streamed from the file), then one
    aggregate (``count(*)`` by origin and carrier). Nothing the platform does can be
    cheaper than reading the file into the warehouse once.
``day``
    ``dagster asset materialize -m platform_assets.definitions --select '*' --partition DAY``
    against that landing zone, lake and warehouse: every asset and check, dbt included, as
    the day's own run (a re-run after the first round: the day's window is replaced).

Recorded per run: wall time; ``peak_rss_mib``, the peak of the summed resident set size of
the run's process tree **and** the warehouse's client backends (summed RSS counts the
server's shared buffers once per backend that touched them, so it is an upper bound), with
each part's own peak, and ``peak_pss_mib``, the peak of the same processes' summed
proportional set size (shared pages divided among their sharers), and ``peak_uss_mib``, of
their summed unique set size (pages no other process shares: what the run and its backends
themselves hold, without the server's shared buffers); the step durations Dagster reports. After the runs, every
flight is checked to have reached ``analytics.fct_flights`` (count and distinct keys).
Each size is appended as a row of ``benchmarks/results/day_scale.csv`` (with the date, commit
and host); every round of the invocation goes to ``benchmarks/results/day_scale.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import sys
import time
from importlib.metadata import version
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psutil
import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import history  # noqa: E402
from benchmarks.day_scale_landing import scale_day  # noqa: E402
from benchmarks.run_benchmark import BIN, MIB, RESULTS, _cli, measure, spread, summarise  # noqa: E402
from platform_assets.local_instance import EVENT_LOG_SETTINGS  # noqa: E402

FLOOR_TABLE = "floor_landing"


class BackendMemory:
    """Memory of the warehouse server's client backends (``postgres: <user> <db> ...``, one
    per connection) of the PostgreSQL server whose data directory is ``pgdata``.

    Calling it returns their summed RSS in bytes (what :func:`run_benchmark.measure` adds to
    the run's tree). RSS counts each shared page (the server's shared buffers) once per
    backend that touched it, so the sum overstates; the peak of the summed proportional set
    size (PSS: shared pages divided among the processes sharing them) over the run's tree
    and the backends is tracked beside it in ``peak_pss``.
    """

    def __init__(self, pgdata: Path):
        self.pgdata = pgdata
        self.peak_pss = 0
        self.peak_uss = 0

    def _backends(self) -> list[psutil.Process]:
        try:
            server = psutil.Process(int((self.pgdata / "postmaster.pid").read_text().splitlines()[0]))
            children = server.children()
        except (OSError, ValueError, psutil.NoSuchProcess):
            return []
        out = []
        for child in children:
            try:
                cmdline = child.cmdline()  # once: a backend may exit between two calls
                if cmdline and cmdline[0].startswith("postgres: postgres "):
                    out.append(child)
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                pass
        return out

    def __call__(self, tree: psutil.Process | None = None) -> int:
        backends = self._backends()
        rss = pss = uss = 0
        members = backends
        if tree is not None:
            try:
                members = backends + [tree, *tree.children(recursive=True)]
            except psutil.NoSuchProcess:
                pass
        for member in members:
            try:
                info = member.memory_full_info()
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
            pss += info.pss
            uss += info.uss
            if member in backends:
                rss += info.rss
        self.peak_pss = max(self.peak_pss, pss)
        self.peak_uss = max(self.peak_uss, uss)
        return rss


def floor(url: str, csv_path: Path, sample: BackendMemory) -> dict:
    """Time the bare floor: ``COPY`` of ``csv_path`` into an unindexed text table, then one aggregate.

    ``sample()`` is called between copied blocks to track the backends' memory. Returns
    ``copy_s``, ``aggregate_s``, ``wall_s`` (their sum), ``rows`` and ``peak_server_mib``.
    """
    header = csv_path.open().readline().strip().split(",")
    columns = ", ".join(f'"{c}" text' for c in header)
    peak = 0
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"drop table if exists {FLOOR_TABLE}")
        conn.execute(f"create table {FLOOR_TABLE} ({columns})")
        start = time.perf_counter()
        with (
            conn.cursor() as cur,
            cur.copy(f"copy {FLOOR_TABLE} from stdin (format csv, header true)") as copy,
            csv_path.open("rb") as source,
        ):
            while block := source.read(8 * MIB):
                copy.write(block)
                peak = max(peak, sample())
        copied = time.perf_counter()
        rows = sum(
            n
            for _, _, n in conn.execute(f"select origin, carrier, count(*) from {FLOOR_TABLE} group by 1, 2").fetchall()
        )
        done = time.perf_counter()
        peak = max(peak, sample())
        conn.execute(f"drop table {FLOOR_TABLE}")
    return {
        "copy_s": round(copied - start, 3),
        "aggregate_s": round(done - copied, 3),
        "wall_s": round(done - start, 3),
        "rows": rows,
        "peak_server_mib": round(peak / MIB, 1),
    }


def delivered(url: str, day: str) -> dict:
    """What reached the warehouse for ``day``: clean, quarantined and fct_flights rows, distinct flight ids."""
    with psycopg.connect(url) as conn:
        clean, quarantined, fct, distinct = conn.execute(
            "select (select count(*) from clean.flights where flight_date = %(d)s), "
            "(select count(*) from quarantine.flights where partition_date = %(d)s), "
            "(select count(*) from analytics.fct_flights where flight_date = %(d)s), "
            "(select count(distinct flight_id) from analytics.fct_flights where flight_date = %(d)s)",
            {"d": day},
        ).fetchone()
    return {"clean": clean, "quarantined": quarantined, "fct_flights": fct, "fct_distinct": distinct}


def markdown(results: dict, meta: dict) -> str:
    """The table of medians (with spread) per size, and each size's step durations."""
    m = meta["machine"]
    out = [
        f"# Day-scale benchmark {meta['date']}",
        "",
        f"One day ({meta['day']}) of N flights, each run as that day's own run; {meta['repeats']} round(s), alternating "
        f"floor and platform; {m['cpu_count']} CPUs, {m['memory_gib']} GiB RAM, Dagster {m['dagster']}, batch budget "
        f"{meta['batch_rows']} rows. Peak = summed RSS of the run's processes and the warehouse's client backends (an upper bound), PSS and USS (private pages only) beside it.",
        "",
        "| flights in the day | floor: COPY + aggregate (s) | platform run (s) | × floor | peak RSS (MiB) | run tree / backends (MiB) | peak PSS (MiB) | peak USS (MiB) | fct_flights = clean |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in results.values():
        f, d = r["floor"]["summary"], r["day"]["summary"]
        ratio = d["wall_s"]["median"] / f["wall_s"]["median"]
        check = r["delivered"]
        exact = "yes" if check["fct_flights"] == check["clean"] == check["fct_distinct"] else "NO"
        out.append(
            f"| {r['rows']:,} | {f['wall_s']['median']:.1f} [{f['wall_s']['min']:.1f}–{f['wall_s']['max']:.1f}] "
            f"| {d['wall_s']['median']:.1f} [{d['wall_s']['min']:.1f}–{d['wall_s']['max']:.1f}] | {ratio:.1f} "
            f"| {d['peak_rss_mib']['median']:.0f} [{d['peak_rss_mib']['min']:.0f}–{d['peak_rss_mib']['max']:.0f}] "
            f"| {d['peak_tree_mib']['median']:.0f} / {d['peak_server_mib']['median']:.0f} | {d['peak_pss_mib']['median']:.0f} "
            f"| {d['peak_uss_mib']['median']:.0f} | {exact} ({check['fct_flights']:,}) |"
        )
    for r in results.values():
        steps = r["day"]["summary"]["steps"]
        out += [
            "",
            f"Steps of the {r['rows']:,}-flight day (medians, s): "
            + ", ".join(
                f"{name} {s['median']:.1f}" for name, s in sorted(steps.items(), key=lambda kv: -kv[1]["median"])[:8]
            ),
        ]
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flights", default="1000000,10000000,30000000", help="comma-separated day sizes")
    parser.add_argument("--repeats", type=int, default=3, help="rounds (default 3)")
    parser.add_argument(
        "--repeats-over", type=int, default=10_000_000, help="sizes above this run one round only (default 10,000,000)"
    )
    parser.add_argument("--day", default="2013-06-13")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.flights.split(",") if s.strip()]

    from platform_assets.chunking import batch_rows
    from platform_assets.resources.embedded_postgres import ensure_database

    print(_cli("publish-sample", "--start", args.day, "--end", args.day), file=sys.stderr)
    server_url = urlsplit(_cli("warehouse-url"))
    pgdata = Path(dict(kv.split("=", 1) for kv in server_url.query.split("&"))["host"])
    base = dict(os.environ, DAGSTER_HOME=str(ROOT), DAGSTER_POSTGRES_URL=_cli("instance-url"), **EVENT_LOG_SETTINGS)
    cmd = [
        str(BIN / "dagster"),
        "asset",
        "materialize",
        "-m",
        "platform_assets.definitions",
        "--select",
        "*",
        "--partition",
        args.day,
    ]
    setups = {}
    for size in sizes:
        home = ROOT / "data" / "bench" / f"day{size}"
        counts = scale_day(ROOT / "data" / "landing", home / "landing", args.day, size)
        database = f"warehouse_day{size}"
        ensure_database(urlunsplit(server_url._replace(path="/postgres")), database)
        url = urlunsplit(server_url._replace(path=f"/{database}"))
        env = dict(
            base,
            PLATFORM_LANDING_URL=str(home / "landing"),
            PLATFORM_LAKE_URL=str(home / "lake"),
            PLATFORM_WAREHOUSE_URL=url,
        )
        setups[size] = {
            "rows": counts["rows"],
            "url": url,
            "env": env,
            "csv": home / "landing" / "flights" / f"{args.day}.csv",
            "floor": [],
            "day": [],
        }
        print(f"day of {counts['rows']:,} flights in {home}", file=sys.stderr)

    for round_ in range(args.repeats):
        for size, s in setups.items():
            if round_ and size > args.repeats_over:
                continue
            s["floor"].append(floor(s["url"], s["csv"], BackendMemory(pgdata)))
            memory = BackendMemory(pgdata)
            s["day"].append(
                {
                    **measure(cmd, s["env"], server_rss=memory),
                    "peak_pss_mib": round(memory.peak_pss / MIB, 1),
                    "peak_uss_mib": round(memory.peak_uss / MIB, 1),
                }
            )
            print(
                f"round {round_ + 1} {s['rows']:,} flights: floor {s['floor'][-1]['wall_s']:.1f}s, "
                f"day {s['day'][-1]['wall_s']:.1f}s, peak {s['day'][-1]['peak_rss_mib']:.0f} MiB",
                file=sys.stderr,
            )

    results = {}
    for size, s in setups.items():
        results[str(size)] = {
            "rows": s["rows"],
            "floor": {
                "runs": s["floor"],
                "summary": {
                    k: spread([r[k] for r in s["floor"]])
                    for k in ("wall_s", "copy_s", "aggregate_s", "peak_server_mib")
                },
            },
            "day": {
                "runs": s["day"],
                "summary": {
                    **summarise(s["day"]),
                    **{
                        k: spread([r[k] for r in s["day"]])
                        for k in ("peak_tree_mib", "peak_server_mib", "peak_pss_mib", "peak_uss_mib")
                    },
                },
            },
            "delivered": delivered(s["url"], args.day),
            "command": " ".join([os.path.relpath(cmd[0], ROOT), *cmd[1:]]),
        }
    meta = {
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "day": args.day,
        "repeats": args.repeats,
        "batch_rows": batch_rows(),
        "machine": {
            "cpu_count": os.cpu_count(),
            "memory_gib": round(psutil.virtual_memory().total / 1024**3, 1),
            "python": platform.python_version(),
            "dagster": version("dagster"),
        },
        "median_note": "medians with [min-max] over the rounds",
    }
    table = markdown(results, meta)
    print(table)
    RESULTS.mkdir(parents=True, exist_ok=True)
    document = {**meta, "sizes": results}
    (RESULTS / "day_scale.json").write_text(json.dumps(document, indent=2, default=str) + "\n")
    rows = history.day_scale_rows(json.loads(json.dumps(document, default=str)), history.commit())
    history.append(RESULTS / "day_scale.csv", history.DAY_SCALE_FIELDS, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
