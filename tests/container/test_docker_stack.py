"""The Docker stack on a real Docker engine: every run in its own container.

``make container-test`` builds the image and runs this module. It brings up
docker-compose.yml (PostgreSQL, code server, webserver, daemon; host networking, loopback
only), publishes two weeks of drops into the stack's data volume, and drives Dagster through
its GraphQL API (``dagster-graphql``'s client):

* a ranged run over a week runs in its own container, the week reaches the marts, and its
  step logs reach the webserver;
* a run container killed mid-run is detected by run monitoring and retried, and the
  warehouse ends as one good run leaves it (no duplicates, no partial window);
* a cancelled run stops at once: its step is not retried, the run worker reports it
  cancelled and its container exits by itself;
* two runs on disjoint weeks run side by side in separate containers.

Teardown removes the stack, its volumes and every run container. Figures (launch latency,
a week's wall time) are printed and appended as a row of ``benchmarks/results/container.csv``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import time

import pytest
from dagster_graphql import DagsterGraphQLClient

from benchmarks import history
from tests.container.stack import (
    ROOT,
    compose,
    container_of,
    docker,
    expected_flights,
    launch,
    run_events,
    run_of,
    running_stack,
    wait,
    warehouse_window,
)

pytestmark = pytest.mark.container

PROJECT = "platformtest"
WEEKS = [
    (dt.date(2013, 3, 4), dt.date(2013, 3, 10)),
    (dt.date(2013, 3, 11), dt.date(2013, 3, 17)),
    (dt.date(2013, 3, 18), dt.date(2013, 3, 24)),
]
#: A window long enough that a cancellation lands while the run is still working.
LONG_WINDOW = (dt.date(2013, 3, 1), dt.date(2013, 3, 31))
RESULTS = ROOT / "benchmarks" / "results" / "container.csv"
FIGURES: dict[str, object] = {}


@pytest.fixture(scope="module")
def stack():
    with running_stack(PROJECT, LONG_WINDOW) as client:
        yield client
    if set(FIGURES) == set(history.CONTAINER_FIELDS) - {"date", "commit", "cpus"}:  # every figure measured
        now = dt.datetime.now().astimezone().isoformat(timespec="seconds")
        row = {"date": now, "commit": history.commit(), "cpus": os.cpu_count(), **FIGURES}
        history.append(RESULTS, history.CONTAINER_FIELDS, [row])


def test_a_ranged_run_runs_in_its_own_container_and_reaches_the_marts(stack):
    first, last = WEEKS[0]
    run_id = launch(stack, first, last)
    running = wait(stack, run_id, {"STARTED", "SUCCESS"})
    done = wait(stack, run_id, {"SUCCESS"})
    container = container_of(done)
    assert container["Config"]["Labels"]["dagster/run_id"] == run_id
    assert container["Config"]["Image"] == "platform-assets:latest"
    assert container["HostConfig"]["NetworkMode"] == "host"
    assert container["Config"]["User"] == "platform"
    assert container["Config"]["Healthcheck"]["Test"] == ["NONE"]  # no code-server probe beside the run
    expected = expected_flights(first, last)
    assert warehouse_window(first, last) == (expected, expected)
    # Its step logs were written to the volume shared with the webserver, which serves them
    # (the UI's stdout/stderr view of the run).
    events = run_events(stack, run_id)
    assert not [e for e in events if "compute log" in (e.get("message") or "")], events
    [captured] = [e for e in events if e["__typename"] == "LogsCapturedEvent"]
    logs = stack._execute(
        "query($key: [String!]!) { capturedLogs(logKey: $key) { stderr } }",
        {"key": [run_id, "compute_logs", captured["fileKey"]]},
    )["capturedLogs"]
    assert 'Started execution of step "raw_flights"' in (logs["stderr"] or ""), logs
    FIGURES["launch_latency_s"] = round(running["startTime"] - running["creationTime"], 1)
    FIGURES["week_wall_s"] = round(done["endTime"] - done["creationTime"], 1)
    FIGURES["week_flights"] = expected
    print(f"\nqueued -> running {FIGURES['launch_latency_s']} s; a week end to end {FIGURES['week_wall_s']} s")


def test_a_killed_run_container_is_retried_to_the_same_warehouse_contents(stack):
    first, last = WEEKS[1]
    run_id = launch(stack, first, last)
    run = wait(stack, run_id, {"STARTED"})
    # Kill it while it works: once the clean step has started writing the window.
    _wait_for_step(run, "clean_flights")
    docker("kill", run["tags"]["docker/container_id"])
    failed = wait(stack, run_id, {"FAILURE"}, timeout=300)
    assert failed["status"] == "FAILURE"
    # run_retries starts a new run for it; find it by its parent
    deadline = time.monotonic() + 300
    retry_id = None
    while retry_id is None:
        runs = stack._execute(
            '{ runsOrError(filter: {tags: [{key: "dagster/parent_run_id", value: "' + run_id + '"}]}) {'
            " ... on Runs { results { runId } } } }"
        )["runsOrError"]["results"]
        retry_id = runs[0]["runId"] if runs else None
        assert retry_id or time.monotonic() < deadline, _why_no_retry(stack, run_id)
        time.sleep(1)
    retried = wait(stack, retry_id, {"SUCCESS"})
    assert container_of(retried)["Id"] != container_of(failed)["Id"]
    expected = expected_flights(first, last)
    assert warehouse_window(first, last) == (expected, expected)


def _why_no_retry(client: DagsterGraphQLClient, run_id: str) -> str:
    """What Dagster recorded about the killed run and what the daemon logged, for the failure message."""
    events = run_events(client, run_id)
    tags = run_of(client, run_id)["tags"]
    command, env = compose(PROJECT)
    daemon = subprocess.run(
        [*command, "logs", "--no-color", "--tail=80", "daemon"], env=env, capture_output=True, text=True
    ).stdout
    lines = [f"{e['__typename']}: {e.get('message', '')[:300]}" for e in events[-15:]]
    return "no retry of the killed run\ntags: {}\nlast events:\n{}\ndaemon log:\n{}".format(
        {k: v for k, v in tags.items() if k.startswith("dagster/")}, "\n".join(lines), daemon[-6000:]
    )


def _wait_for_step(run: dict, step: str, timeout: float = 300) -> None:
    """Until the run's container has logged the start of ``step``."""
    deadline = time.monotonic() + timeout
    while True:
        logs = subprocess.run(["docker", "logs", run["tags"]["docker/container_id"]], capture_output=True, text=True)
        if f'Started execution of step "{step}"' in logs.stdout + logs.stderr:
            return
        assert time.monotonic() < deadline, f"the run never reached {step}"
        time.sleep(0.5)


def test_a_cancelled_run_stops_its_container(stack):
    run_id = launch(stack, *LONG_WINDOW)
    run = wait(stack, run_id, {"STARTED"})
    _wait_for_step(run, "raw_flights")  # working, with the rest of the month ahead of it
    stack.terminate_run(run_id)
    asked = time.time()
    run = wait(stack, run_id, {"CANCELED"}, timeout=120)
    # The run worker stopped on the launcher's SIGTERM and reported the cancellation itself:
    # the step it was in was not retried, and neither the launcher's SIGKILL (after 10 s) nor
    # run monitoring's cancel timeout (60 s) was needed.
    events = run_events(stack, run_id)
    canceled = [e for e in events if e["__typename"] == "RunCanceledEvent"]
    assert [e["message"] for e in canceled] == ['Execution of run for "main_job" canceled.'], events[-10:]
    assert not [e for e in events if e["__typename"] == "ExecutionStepRestartEvent"]
    assert run["endTime"] - asked < 30
    deadline = time.monotonic() + 60
    while (state := container_of(run)["State"])["Running"]:
        assert time.monotonic() < deadline, "the cancelled run's container is still running"
        time.sleep(1)
    assert state["ExitCode"] == 0, state  # it ended by itself, not killed at the end of the grace period


def test_two_runs_on_disjoint_weeks_run_side_by_side(stack):
    run_ids = [launch(stack, *WEEKS[0]), launch(stack, *WEEKS[2])]
    overlap = False
    deadline = time.monotonic() + 900
    while not all(run_of(stack, r)["status"] == "SUCCESS" for r in run_ids):
        runs = [run_of(stack, r) for r in run_ids]
        assert not any(r["status"] in {"FAILURE", "CANCELED"} for r in runs), runs
        if all(r["status"] == "STARTED" and "docker/container_id" in r["tags"] for r in runs):
            states = [container_of(r)["State"]["Running"] for r in runs]
            overlap = overlap or all(states)
        assert time.monotonic() < deadline
        time.sleep(0.5)
    containers = {container_of(run_of(stack, r))["Id"] for r in run_ids}
    assert len(containers) == 2
    assert overlap, "the two runs never ran at the same time"
    for first, last in (WEEKS[0], WEEKS[2]):
        expected = expected_flights(first, last)
        assert warehouse_window(first, last) == (expected, expected)


def test_the_image_alone_validates_the_definitions_offline_as_a_non_root_user():
    validate = subprocess.run(
        [
            "docker",
            "run",
            "--rm",
            "--network",
            "none",
            "platform-assets:latest",
            "dagster",
            "definitions",
            "validate",
            "-m",
            "platform_assets.definitions",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert validate.returncode == 0, validate.stderr[-2000:]
    assert "All code locations passed validation" in validate.stdout + validate.stderr
    assert docker("run", "--rm", "--network", "none", "platform-assets:latest", "id", "-u").strip() != "0"
    inspected = json.loads(docker("image", "inspect", "platform-assets:latest"))[0]
    assert inspected["Config"]["Healthcheck"]["Test"][:2] == ["CMD", "dagster"]
    # no secret-looking variable is baked in
    baked = dict(v.split("=", 1) for v in inspected["Config"]["Env"])
    assert not {k for k in baked if any(word in k for word in ("PASSWORD", "SECRET", "TOKEN", "_URL"))}
    FIGURES["image_size_bytes"] = inspected["Size"]
