"""What bounding a backfill's runs costs: a year backfilled through the daemon in chunks of N days.

Usage (from the repo root; ``make benchmark-backfill`` runs it with the defaults)::

    .venv/bin/python benchmarks/backfill_chunks.py [--start 2013-01-01 --end 2013-12-31]
        [--per-run 0,31,92] [--repeats 2]

What it does: a fresh embedded PostgreSQL (instance and warehouse), landing zone and lake in
a temp dir, the project's ``dagster.yaml``, and the sample drops of START..END published.
One ranged CLI run of the window fills the warehouse first (not counted), so every measured
run replaces a full window, as a real backfill does. Then, ``--repeats`` rounds, alternating
scenarios within each round so a slow spell hits them alike:

``cli``
    ``dagster asset materialize --select '*' --partition-range START...END``: one run in the
    CLI's process, no daemon (the reference: the one-run path).
``per_run=N``
    ``dagster dev`` (webserver + daemon) started with ``PLATFORM_BACKFILL_PARTITIONS_PER_RUN=N``,
    then a backfill of ``main_job`` over START..END launched through the webserver's GraphQL
    API exactly as the job page's "Materialize all" does; timed from the launch until the
    backfill is complete. ``0`` is the single-run policy (one run through the daemon).

Recorded per scenario: wall time (median, min, max over the rounds), the number of runs, and
for the backfills the summed run time (start to end of each run), the runs' longest, and the
backfill daemon's share (it loops every 30 s): launch until the first run is created, and the
last run's end until the backfill is complete.
Rows are appended to ``benchmarks/results/backfill_chunks.csv``; every round goes to
``benchmarks/results/backfill_chunks.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
sys.path.insert(0, str(ROOT))

from benchmarks import history  # noqa: E402
from platform_assets.local_instance import EVENT_LOG_SETTINGS  # noqa: E402
from platform_assets.resources.embedded_postgres import (  # noqa: E402
    embedded_warehouse_url,
    ensure_database,
    stop_embedded_server,
)
from platform_assets.resources.storage import StorageResource  # noqa: E402
from platform_assets.sources.nycflights13 import publish_sample  # noqa: E402

LOCATION = {"repositoryLocationName": "platform_assets", "repositoryName": "__repository__"}
LAUNCH = """
mutation Launch($params: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $params) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on PythonError { message }
  }
}
"""
STATUS = """
query Backfill($id: String!) {
  partitionBackfillOrError(backfillId: $id) {
    ... on PartitionBackfill { status runs(limit: 1000) { id status creationTime startTime endTime } }
  }
}
"""
DAEMONS = "{ instance { daemonHealth { allDaemonStatuses { daemonType required healthy } } } }"
FIELDS = [
    "date",
    "commit",
    "cpus",
    "window_days",
    "scenario",
    "rounds",
    "runs",
    "median_s",
    "min_s",
    "max_s",
    "run_sum_s",
    "longest_run_s",
    "to_first_run_s",
    "after_last_run_s",
    "cli_median_s",
]


def _graphql(url: str, query: str, variables: dict) -> dict:
    request = urllib.request.Request(
        f"{url}/graphql",
        data=json.dumps({"query": query, "variables": variables}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        body = json.loads(response.read())
    if body.get("errors"):
        raise RuntimeError(body["errors"])
    return body["data"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def _dagster_dev(env: dict[str, str], log: Path):
    """``dagster dev`` on a free loopback port in its own process group; its URL once the code
    location is loaded and every required daemon (run queue, backfills, sensors) is healthy."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [str(BIN / "dagster"), "dev", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)],
        cwd=ROOT,
        env=env,
        stdout=open(log, "ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 300
        while True:
            with contextlib.suppress(Exception):
                data = _graphql(url, "{ workspaceOrError { ... on Workspace { locationEntries { loadStatus } } } }", {})
                loaded = [e["loadStatus"] for e in data["workspaceOrError"]["locationEntries"]] == ["LOADED"]
                daemons = _graphql(url, DAEMONS, {})["instance"]["daemonHealth"]["allDaemonStatuses"]
                if loaded and all(d["healthy"] for d in daemons if d["required"]):
                    break
            if proc.poll() is not None or time.monotonic() > deadline:
                sys.exit(f"dagster dev did not start; see {log}")
            time.sleep(1)
        yield url
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            pass
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # code servers and run workers of the group


def _backfill(url: str, days: list[str], timeout: float = 3600) -> dict:
    """Launch a job backfill of ``main_job`` over ``days`` and wait for it; wall time and its runs."""
    params = {
        "selector": {"partitionSetName": "main_job_partition_set", "repositorySelector": LOCATION},
        "partitionNames": days,
    }
    started = time.perf_counter()
    launched_at = time.time()
    launched = _graphql(url, LAUNCH, {"params": params})["launchPartitionBackfill"]
    if launched["__typename"] != "LaunchBackfillSuccess":
        sys.exit(f"backfill not launched: {launched}")
    deadline = time.monotonic() + timeout
    while True:
        backfill = _graphql(url, STATUS, {"id": launched["backfillId"]})["partitionBackfillOrError"]
        if backfill["status"] not in ("REQUESTED", "CANCELING"):
            break
        if time.monotonic() > deadline:
            sys.exit(f"backfill {launched['backfillId']} still {backfill['status']} after {timeout} s")
        time.sleep(1)
    wall = time.perf_counter() - started
    completed_at = time.time()
    runs = backfill["runs"]
    if backfill["status"] != "COMPLETED_SUCCESS" or any(r["status"] != "SUCCESS" for r in runs):
        sys.exit(f"backfill ended {backfill['status']}: {[r['status'] for r in runs]}")
    durations = [r["endTime"] - r["startTime"] for r in runs]
    return {
        "wall_s": round(wall, 1),
        "runs": len(runs),
        "run_sum_s": round(sum(durations), 1),
        "longest_run_s": round(max(durations), 1),
        # the backfill daemon's 30 s loop: launch -> first run created, last run ended -> complete
        "to_first_run_s": round(min(r["creationTime"] for r in runs) - launched_at, 1),
        "after_last_run_s": round(completed_at - max(r["endTime"] for r in runs), 1),
    }


def _cli_run(env: dict[str, str], start: str, end: str, log: Path) -> dict:
    started = time.perf_counter()
    with open(log, "ab") as sink:
        proc = subprocess.run(
            [
                str(BIN / "dagster"),
                "asset",
                "materialize",
                "-m",
                "platform_assets.definitions",
                "--select",
                "*",
                "--partition-range",
                f"{start}...{end}",
            ],
            cwd=ROOT,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    if proc.returncode:
        sys.exit(f"the CLI run failed; see {log}")
    return {"wall_s": round(time.perf_counter() - started, 1), "runs": 1}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--start", default="2013-01-01")
    parser.add_argument("--end", default="2013-12-31")
    parser.add_argument("--per-run", default="0,31,92", help="comma-separated days per run (0: one run)")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args(argv)
    # A terminated benchmark still stops its servers (the finally blocks below).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    first, last = dt.date.fromisoformat(args.start), dt.date.fromisoformat(args.end)
    days = [str(first + dt.timedelta(i)) for i in range((last - first).days + 1)]
    per_run = [int(n) for n in args.per_run.split(",")]

    base = Path(tempfile.mkdtemp(prefix="backfill-"))
    log = base / "benchmark.log"
    rounds: list[dict] = []
    try:
        warehouse_url = embedded_warehouse_url(base / "pg")
        admin = urlsplit(warehouse_url)._replace(path="/postgres")
        ensure_database(urlunsplit(admin), "dagster")
        home = base / "home"
        (home / ".nux").mkdir(parents=True)
        (home / ".nux" / "nux.yaml").write_text("seen: 1\n")
        shutil.copy(ROOT / "dagster.yaml", home / "dagster.yaml")
        landing = StorageResource(url=str(base / "landing"))
        publish_sample(landing, first, last)
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("PLATFORM_", "DAGSTER_"))},
            "DAGSTER_HOME": str(home),
            "DAGSTER_POSTGRES_URL": urlunsplit(admin._replace(scheme="postgresql+psycopg2", path="/dagster")),
            **EVENT_LOG_SETTINGS,
            "PLATFORM_WAREHOUSE_URL": warehouse_url,
            "PLATFORM_LANDING_URL": landing.url,
            "PLATFORM_LAKE_URL": str(base / "lake"),
        }
        print(f"warm-up: {_cli_run(env, args.start, args.end, log)} (not counted)", file=sys.stderr)
        for i in range(args.repeats):
            result = {"cli": _cli_run(env, args.start, args.end, log)}
            print(f"round {i + 1} cli: {result['cli']}", file=sys.stderr)
            for n in per_run:
                with _dagster_dev({**env, "PLATFORM_BACKFILL_PARTITIONS_PER_RUN": str(n)}, log) as url:
                    result[f"per_run={n}"] = _backfill(url, days)
                print(f"round {i + 1} per_run={n}: {result[f'per_run={n}']}", file=sys.stderr)
            rounds.append(result)
    finally:
        stop_embedded_server(base / "pg")

    date = dt.datetime.now().astimezone().isoformat(timespec="seconds")
    commit = history.commit()
    cli_median = round(statistics.median(r["cli"]["wall_s"] for r in rounds), 1)
    rows = []
    for scenario in rounds[0]:
        walls = [r[scenario]["wall_s"] for r in rounds]
        row = {
            "date": date,
            "commit": commit,
            "cpus": os.cpu_count(),
            "window_days": len(days),
            "scenario": scenario,
            "rounds": len(rounds),
            "runs": rounds[0][scenario]["runs"],
            "median_s": round(statistics.median(walls), 1),
            "min_s": min(walls),
            "max_s": max(walls),
            "cli_median_s": cli_median,
            # per backfill only (the CLI's run has no daemon): blank for the CLI
            **{
                key: round(statistics.median(r[scenario][key] for r in rounds), 1) if key in rounds[0][scenario] else ""
                for key in ("run_sum_s", "longest_run_s", "to_first_run_s", "after_last_run_s")
            },
        }
        rows.append(row)
        print(
            f"{scenario:<12} runs {row['runs']:>3}   median {row['median_s']:7.1f} s "
            f"(min {row['min_s']:.1f}, max {row['max_s']:.1f})   x{row['median_s'] / cli_median:.2f} the CLI's one run"
        )
    history.RESULTS.mkdir(exist_ok=True)
    (history.RESULTS / "backfill_chunks.json").write_text(
        json.dumps({"date": date, "commit": commit, "days": len(days), "rounds": rounds}, indent=2) + "\n"
    )
    history.append(history.RESULTS / "backfill_chunks.csv", FIELDS, rows)
    shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
