"""What Dagster's Celery executor costs beside the in-process executor, for the same runs.

Usage (from the repo root; ``make benchmark-celery`` runs it with the defaults; needs
Debian's ``redis-server``)::

    .venv/bin/python benchmarks/celery_executor.py [--windows 2013-03-04:2013-03-04,2013-03-01:2013-03-31]
        [--repeats 3]

What it does: a fresh embedded PostgreSQL (instance and warehouse), landing zone and lake in
a temp dir, the project's ``dagster.yaml``, the sample drops of every window published, a
``redis-server`` on loopback, and two Celery workers started with dagster-celery's CLI from
``deploy/celery/worker.yaml`` (``default`` on the ``dagster`` queue, ``heavy`` on the
``heavy`` queue, one step at a time each: at most two steps run at once, one per core here).
Each window is run once first (not counted), so every measured run replaces a full window.
Then ``--repeats`` rounds, each running every window with both executors in turn:

``in_process``
    ``dagster asset materialize --select '*' --partition-range FIRST...LAST`` with
    ``PLATFORM_EXECUTOR=in_process`` (the default; the reference).
``celery``
    the same command with ``PLATFORM_EXECUTOR=celery``: each step a Celery task.

Recorded per window and executor: wall time of the command (median, min, max over the
rounds), the run's steps, and for Celery the median *handover* of a step: from the run's
"Submitting celery task" event to the step's start in the worker (the broker, the worker
loading the code and the run, building the step's plan).
Rows are appended to ``benchmarks/results/celery_executor.csv``; every round goes to
``benchmarks/results/celery_executor.json``.
"""

from __future__ import annotations

import argparse
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
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
sys.path.insert(0, str(ROOT))

import dagster as dg  # noqa: E402

from benchmarks import history  # noqa: E402
from platform_assets.local_instance import EVENT_LOG_SETTINGS  # noqa: E402
from platform_assets.resources.embedded_postgres import (  # noqa: E402
    embedded_warehouse_url,
    ensure_database,
    stop_embedded_server,
)
from platform_assets.resources.storage import StorageResource  # noqa: E402
from platform_assets.sources.nycflights13 import publish_sample  # noqa: E402
from tests.processes import stop_process_tree  # noqa: E402

FIELDS = [
    "date",
    "commit",
    "cpus",
    "window",
    "window_days",
    "executor",
    "rounds",
    "steps",
    "median_s",
    "min_s",
    "max_s",
    "in_process_median_s",
    "handover_median_s",
]
WORKERS = {"default": "dagster", "heavy": "heavy"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_redis(log: Path) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    proc = subprocess.Popen(
        ["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no"],
        stdout=open(log, "ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    return proc, f"redis://127.0.0.1:{port}"


def _start_workers(env: dict[str, str], broker: str, log: Path) -> list[subprocess.Popen]:
    from celery import Celery

    procs = [
        subprocess.Popen(
            [
                str(BIN / "dagster-celery"),
                "worker",
                "start",
                "-A",
                "dagster_celery.app",
                "-y",
                str(ROOT / "deploy" / "celery" / "worker.yaml"),
                "-n",
                name,
                "-q",
                queue,
                "--",
                "--concurrency=1",
            ],
            cwd=ROOT,
            env=env,
            stdout=open(log, "ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        for name, queue in WORKERS.items()
    ]
    app = Celery(broker=broker)
    deadline = time.monotonic() + 180
    while len({n for reply in app.control.ping(timeout=1.0) for n in reply}) < len(WORKERS):
        if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
            sys.exit(f"the Celery workers did not start; see {log}")
    return procs


def _run(env: dict[str, str], executor: str, first: str, last: str, log: Path) -> float:
    started = time.perf_counter()
    with open(log, "ab") as sink:
        proc = subprocess.run(
            [str(BIN / "dagster"), "asset", "materialize", "-m", "platform_assets.definitions",
             "--select", "*", "--partition-range", f"{first}...{last}"],
            cwd=ROOT, env={**env, "PLATFORM_EXECUTOR": executor}, stdout=sink, stderr=subprocess.STDOUT,
        )  # fmt: skip
    if proc.returncode:
        sys.exit(f"the {executor} run of {first}..{last} failed; see {log}")
    return round(time.perf_counter() - started, 1)


def _last_run_figures(instance: dg.DagsterInstance) -> dict:
    """Steps of the latest run and, for Celery, each step's handover (submitted → started)."""
    (run,) = instance.get_runs(limit=1)
    submitted, started = {}, {}
    for record in instance.all_logs(run.run_id):
        event = record.dagster_event
        if event is None or record.step_key is None:
            continue
        if event.event_type == dg.DagsterEventType.ENGINE_EVENT and event.message.startswith("Submitting celery task"):
            submitted.setdefault(record.step_key, record.timestamp)
        elif event.event_type == dg.DagsterEventType.STEP_START:
            started.setdefault(record.step_key, record.timestamp)
    handovers = [started[k] - submitted[k] for k in submitted if k in started]
    return {
        "steps": len(started),
        "handover_s": round(statistics.median(handovers), 2) if handovers else None,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--windows", default="2013-03-04:2013-03-04,2013-03-01:2013-03-31")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # still stop the servers
    windows = [tuple(w.split(":")) for w in args.windows.split(",")]

    base = Path(tempfile.mkdtemp(prefix="celery-bench-"))
    log = base / "benchmark.log"
    rounds: list[dict] = []
    servers: list[subprocess.Popen] = []
    try:
        warehouse_url = embedded_warehouse_url(base / "pg")
        admin = urlsplit(warehouse_url)._replace(path="/postgres")
        ensure_database(urlunsplit(admin), "dagster")
        home = base / "home"
        home.mkdir()
        shutil.copy(ROOT / "dagster.yaml", home / "dagster.yaml")
        landing = StorageResource(url=str(base / "landing"))
        for first, last in windows:
            publish_sample(landing, dt.date.fromisoformat(first), dt.date.fromisoformat(last))
        redis, broker = _start_redis(log)
        servers.append(redis)
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("PLATFORM_", "DAGSTER_"))},
            "DAGSTER_HOME": str(home),
            "DAGSTER_POSTGRES_URL": urlunsplit(admin._replace(scheme="postgresql+psycopg2", path="/dagster")),
            **EVENT_LOG_SETTINGS,
            "PLATFORM_WAREHOUSE_URL": warehouse_url,
            "PLATFORM_LANDING_URL": landing.url,
            "PLATFORM_LAKE_URL": str(base / "lake"),
            "PLATFORM_CELERY_BROKER_URL": f"{broker}/0",
            "PLATFORM_CELERY_BACKEND_URL": f"{broker}/1",
            "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
        }
        servers += _start_workers(env, f"{broker}/0", log)
        os.environ.update({"DAGSTER_HOME": env["DAGSTER_HOME"], "DAGSTER_POSTGRES_URL": env["DAGSTER_POSTGRES_URL"]})
        instance = dg.DagsterInstance.get()
        for first, last in windows:
            print(f"warm-up {first}..{last}: {_run(env, 'in_process', first, last, log)} s", file=sys.stderr)
        for i in range(args.repeats):
            result = {}
            for first, last in windows:
                for executor in ("in_process", "celery"):
                    wall = _run(env, executor, first, last, log)
                    result[f"{first}:{last}:{executor}"] = {"wall_s": wall, **_last_run_figures(instance)}
                    print(f"round {i + 1} {first}..{last} {executor}: {result[f'{first}:{last}:{executor}']}")
            rounds.append(result)
        instance.dispose()
    finally:
        for proc in reversed(servers):
            stop_process_tree(proc)
        stop_embedded_server(base / "pg")

    date = dt.datetime.now().astimezone().isoformat(timespec="seconds")
    commit = history.commit()
    rows = []
    for first, last in windows:
        reference = statistics.median(r[f"{first}:{last}:in_process"]["wall_s"] for r in rounds)
        for executor in ("in_process", "celery"):
            runs = [r[f"{first}:{last}:{executor}"] for r in rounds]
            walls = [r["wall_s"] for r in runs]
            handovers = [r["handover_s"] for r in runs if r["handover_s"] is not None]
            rows.append(
                {
                    "date": date,
                    "commit": commit,
                    "cpus": os.cpu_count(),
                    "window": f"{first}..{last}",
                    "window_days": (dt.date.fromisoformat(last) - dt.date.fromisoformat(first)).days + 1,
                    "executor": executor,
                    "rounds": len(rounds),
                    "steps": runs[0]["steps"],
                    "median_s": round(statistics.median(walls), 1),
                    "min_s": min(walls),
                    "max_s": max(walls),
                    "in_process_median_s": round(reference, 1),
                    "handover_median_s": round(statistics.median(handovers), 2) if handovers else "",
                }
            )
    for row in rows:
        print(
            f"{row['window']:<24} {row['executor']:<10} steps {row['steps']:>3}  median {row['median_s']:6.1f} s "
            f"[{row['min_s']}-{row['max_s']}]  x{row['median_s'] / row['in_process_median_s']:.2f}  "
            f"handover {row['handover_median_s']}"
        )
    history.RESULTS.mkdir(exist_ok=True)
    (history.RESULTS / "celery_executor.json").write_text(
        json.dumps({"date": date, "commit": commit, "rounds": rounds}, indent=2) + "\n"
    )
    history.append(history.RESULTS / "celery_executor.csv", FIELDS, rows)
    shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
