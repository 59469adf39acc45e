"""Dagster's Celery executor (``PLATFORM_EXECUTOR=celery``) with a real Redis broker and real workers.

On loopback: ``redis-server`` (Debian's; ``.ci/run`` installs it) as broker and result
backend, and two workers started with dagster-celery's own CLI from
``deploy/celery/worker.yaml``: ``default`` on the ``dagster`` queue and ``heavy`` on the
``heavy`` queue. A ranged run of every asset, launched with Dagster's CLI, must succeed with
each step executed by a worker (dagster-celery records the worker in the step's engine
event), the heavy steps only on ``heavy`` and the rest only on ``default``, and every flight
of the window in ``fct_flights``. Every process the module starts (Redis, the workers and
their pool processes) is stopped, and none survives.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import subprocess
import time
from urllib.parse import urlsplit, urlunsplit

import dagster as dg
import pytest
import redis

from platform_assets.sources.nycflights13 import publish_sample
from tests.integration.conftest import ROOT, query
from tests.processes import stop_process_tree

pytestmark = pytest.mark.celery

BIN = ROOT / ".venv" / "bin"
WORKER_CONFIG = ROOT / "deploy" / "celery" / "worker.yaml"  # same config as the executor (unit-tested)
WINDOW = (dt.date(2013, 3, 4), dt.date(2013, 3, 6))
#: Steps sent to the heavy queue: dbt, and the raw and clean steps of `heavy: true` sources.
HEAVY_STEPS = {"dbt_models", "raw_flights", "clean_flights"}
#: Flights scheduled 2013-03-04..06 in nycflights13 (every one reaches fct_flights).
NYC_FLIGHTS_MARCH_4_TO_6 = 2914


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def broker(tmp_path_factory):
    """``redis-server`` on a free loopback port, nothing persisted; its URL (database 0)."""
    port = _free_port()
    log = tmp_path_factory.mktemp("redis") / "redis.log"
    proc = subprocess.Popen(
        ["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no"],
        stdout=open(log, "wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        client = redis.Redis(host="127.0.0.1", port=port)
        deadline = time.monotonic() + 30
        while True:
            try:
                if client.ping():
                    break
            except redis.ConnectionError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"redis-server did not start: {log.read_text()[-2000:]}") from None
                time.sleep(0.2)
        yield f"redis://127.0.0.1:{port}"
    finally:
        assert stop_process_tree(proc) == []


@pytest.fixture(scope="module")
def celery_env(broker, warehouse, landing, lake, project_instance) -> dict[str, str]:
    """What every process of a Celery run needs: the instance, the warehouse, landing zone and
    lake, and the broker (results in Redis database 1)."""
    parts = urlsplit(warehouse.url)
    return {
        **os.environ,
        "DAGSTER_HOME": project_instance.root_directory,
        "DAGSTER_POSTGRES_URL": urlunsplit(parts._replace(scheme="postgresql+psycopg2", path="/dagster_tests")),
        "PLATFORM_WAREHOUSE_URL": warehouse.url,
        "PLATFORM_LANDING_URL": landing.url,
        "PLATFORM_LAKE_URL": lake.url,
        "PLATFORM_EXECUTOR": "celery",
        "PLATFORM_CELERY_BROKER_URL": f"{broker}/0",
        "PLATFORM_CELERY_BACKEND_URL": f"{broker}/1",
    }


@pytest.fixture(scope="module")
def workers(celery_env, tmp_path_factory) -> dict[str, str]:
    """Two workers, ``default`` (queue ``dagster``) and ``heavy`` (queue ``heavy``); their Celery node names."""
    logs = tmp_path_factory.mktemp("workers")
    procs: list[subprocess.Popen] = []
    names = {"default": "dagster", "heavy": "heavy"}
    host = socket.gethostname()
    try:
        for name, queue in names.items():
            procs.append(
                subprocess.Popen(
                    [
                        str(BIN / "dagster-celery"),
                        "worker",
                        "start",
                        "-A",
                        "dagster_celery.app",
                        "-y",
                        str(WORKER_CONFIG),
                        "-n",
                        name,
                        "-q",
                        queue,
                    ],
                    cwd=ROOT,
                    env={**celery_env, "PATH": f"{BIN}{os.pathsep}{celery_env.get('PATH', '')}"},
                    stdout=open(logs / f"{name}.log", "wb"),
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
        # Ready when each answers a ping through the broker.
        from celery import Celery

        app = Celery(broker=celery_env["PLATFORM_CELERY_BROKER_URL"])
        expected = {f"{name}@{host}" for name in names}
        deadline = time.monotonic() + 120
        answered: set[str] = set()
        while answered != expected:
            if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
                tails = {f.name: f.read_text()[-1500:] for f in logs.iterdir()}
                raise AssertionError(f"workers not ready ({answered}): {tails}")
            answered = {name for reply in app.control.ping(timeout=1.0) for name in reply}
        yield {name: f"{name}@{host}" for name in names}
    finally:
        survivors = [s for p in procs for s in stop_process_tree(p)]
        assert survivors == []


def test_a_ranged_run_executes_every_step_on_the_workers_of_its_queue(
    celery_env, workers, landing, warehouse, project_instance
):
    first, last = WINDOW
    publish_sample(landing, first, last)
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
            f"{first}...{last}",
        ],
        cwd=ROOT,
        env=celery_env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]

    (run,) = project_instance.get_runs(
        filters=dg.RunsFilter(
            tags={"dagster/asset_partition_range_start": str(first), "dagster/asset_partition_range_end": str(last)}
        ),
        limit=1,
    )
    assert run.status == dg.DagsterRunStatus.SUCCESS
    # dagster-celery reports, for each step it hands over, the worker that executed it
    ran_on: dict[str, set[str]] = {}
    for record in project_instance.all_logs(run.run_id, of_type=dg.DagsterEventType.ENGINE_EVENT):
        worker = record.dagster_event.engine_event_data.metadata.get("Celery worker")
        if worker is not None:
            ran_on.setdefault(record.step_key, set()).add(worker.value)
    steps = {
        record.step_key for record in project_instance.all_logs(run.run_id, of_type=dg.DagsterEventType.STEP_SUCCESS)
    }
    assert set(ran_on) == steps  # every step that succeeded was executed by a worker
    assert steps >= HEAVY_STEPS
    for step, where in ran_on.items():
        assert where == {workers["heavy" if step in HEAVY_STEPS else "default"]}, (step, where)

    (flights,) = query(
        warehouse, "select count(*) from analytics.fct_flights where flight_date between %s and %s", (first, last)
    )[0]
    assert flights == NYC_FLIGHTS_MARCH_4_TO_6
