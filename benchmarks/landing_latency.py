"""Latency from a file landing to its marts being updated, through the daemon.

Usage (from the repo root; ``make benchmark-latency`` runs it)::

    .venv/bin/python benchmarks/landing_latency.py [--repeats 3]

What it does: starts ``dagster-daemon run`` with the project's ``dagster.yaml`` against a
fresh embedded PostgreSQL (instance and warehouse) and a fresh landing zone in a temp dir,
turns the landing-zone sensor on, publishes the reference files and one warm-up day and
waits for its run (not counted). Then, ``--repeats`` times, it publishes one more day's
``flights`` and ``weather`` files and records, from Dagster's run record:

* ``pickup_s``: file written -> run created by the sensor (sensor interval 5 s and the
  daemon's sensor loop);
* ``queue_s``: run created -> run started (queued run coordinator, run launcher, run worker);
* ``run_s``: run started -> run finished: every asset for that day, dbt marts included;
* ``total_s``: file written -> run finished (the marts hold the day at that point).

Medians and min-max are printed and appended as a row of ``benchmarks/results/landing_latency.csv``;
the samples go to ``benchmarks/results/landing_latency.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import shutil
import signal
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

from benchmarks import history  # noqa: E402
from platform_assets.local_instance import EVENT_LOG_SETTINGS  # noqa: E402
from platform_assets.resources.embedded_postgres import (  # noqa: E402
    embedded_warehouse_url,
    ensure_database,
    stop_embedded_server,
)
from platform_assets.resources.storage import StorageResource  # noqa: E402
from platform_assets.sources.nycflights13 import publish_sample  # noqa: E402


def _wait_for_run(instance, after: float, timeout: float = 900):
    import dagster as dg

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        records = instance.get_run_records(
            filters=dg.RunsFilter(
                tags={"platform/trigger": "landing_zone_sensor"}, created_after=dt.datetime.fromtimestamp(after, dt.UTC)
            )
        )
        done = [r for r in records if r.dagster_run.is_finished]
        if done:
            return done[0]
        time.sleep(0.5)
    sys.exit("timed out waiting for the sensor's run")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)

    base = Path(tempfile.mkdtemp(prefix="latency-"))
    warehouse_url = embedded_warehouse_url(base / "pg")
    admin = urlsplit(warehouse_url)._replace(path="/postgres")
    ensure_database(urlunsplit(admin), "dagster")
    home = base / "home"
    home.mkdir()
    shutil.copy(ROOT / "dagster.yaml", home / "dagster.yaml")
    landing = StorageResource(url=str(base / "landing"))
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "DAGSTER_POSTGRES_URL": urlunsplit(admin._replace(scheme="postgresql+psycopg2", path="/dagster")),
        **EVENT_LOG_SETTINGS,
        "PLATFORM_WAREHOUSE_URL": warehouse_url,
        "PLATFORM_LANDING_URL": landing.url,
        "PLATFORM_LAKE_URL": str(base / "lake"),
    }
    os.environ.update(env)
    import dagster as dg

    instance = dg.DagsterInstance.get()
    subprocess.run(
        [str(BIN / "dagster"), "sensor", "start", "landing_zone_sensor", "-w", "workspace.yaml"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    # Its own process group, so the code server and run workers it spawns are stopped with it.
    daemon = subprocess.Popen(
        [str(BIN / "dagster-daemon"), "run", "-w", "workspace.yaml"],
        cwd=ROOT,
        env=env,
        stdout=open(base / "daemon.log", "wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    samples = []
    try:
        days = [dt.date(2013, 6, 10) + dt.timedelta(i) for i in range(args.repeats + 1)]
        for i, day in enumerate(days):
            dropped = time.time()
            publish_sample(landing, day, day)
            record = _wait_for_run(instance, dropped - 1)
            if record.dagster_run.status != dg.DagsterRunStatus.SUCCESS:
                sys.exit(f"run for {day} ended {record.dagster_run.status}; see {base / 'daemon.log'}")
            sample = {
                "day": str(day),
                "pickup_s": round(record.create_timestamp.timestamp() - dropped, 1),
                "queue_s": round(record.start_time - record.create_timestamp.timestamp(), 1),
                "run_s": round(record.end_time - record.start_time, 1),
                "total_s": round(record.end_time - dropped, 1),
            }
            label = "warm-up (not counted)" if i == 0 else f"drop {i}/{args.repeats}"
            print(f"{label}: {sample}", file=sys.stderr)
            if i:
                samples.append(sample)
    finally:
        daemon.terminate()
        daemon.wait(timeout=60)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(daemon.pid, signal.SIGKILL)  # a gRPC code server can outlive the daemon
        stop_embedded_server(base / "pg")
    summary = {
        key: {
            "median": statistics.median(s[key] for s in samples),
            "min": min(s[key] for s in samples),
            "max": max(s[key] for s in samples),
        }
        for key in ("pickup_s", "queue_s", "run_s", "total_s")
    }
    result = {
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "samples": samples,
        "summary": summary,
    }
    (ROOT / "benchmarks" / "results").mkdir(exist_ok=True)
    (ROOT / "benchmarks" / "results" / "landing_latency.json").write_text(json.dumps(result, indent=2) + "\n")
    history.append(
        history.RESULTS / "landing_latency.csv", history.LATENCY_FIELDS, [history.latency_row(result, history.commit())]
    )
    for key, s in summary.items():
        print(f"{key:<9} median {s['median']:6.1f} s   (min {s['min']:.1f}, max {s['max']:.1f})")
    shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
