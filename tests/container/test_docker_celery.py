"""The Docker stack's `celery` profile: a run container hands its steps to worker containers.

``make container-test`` runs this module after the plain stack's. It brings up
docker-compose.yml with ``PLATFORM_EXECUTOR=celery`` and the profile's Redis and workers, the
default-queue worker scaled to two with the one command the README gives
(``--profile celery up -d --scale worker=2``), launches a week of ``main_job`` through
GraphQL, and checks where its steps ran: dagster-celery records each step's worker (its
Celery node name) in the step's engine event, and each worker container prints its node name
when it starts. Teardown removes every container and volume of the stack.
"""

from __future__ import annotations

import datetime as dt
import re
import subprocess

import pytest
from dagster_graphql import DagsterGraphQLClient

from tests.container.stack import compose, docker, expected_flights, launch, running_stack, wait, warehouse_window

pytestmark = pytest.mark.container

PROJECT = "platformcelery"
WEEK = (dt.date(2013, 3, 4), dt.date(2013, 3, 10))
UP = ("--profile", "celery", "up", "-d", "--scale", "worker=2")
#: Steps sent to the heavy queue: dbt, and the raw and clean steps of `heavy: true` sources.
HEAVY_STEPS = {"dbt_models", "raw_flights", "clean_flights"}
#: Celery's start banner names the node, e.g. " -------------- dagster-3fa2b1@host v5.6.0 (...)".
NODE = re.compile(r"-{5,} (\S+@\S+) v\d")


@pytest.fixture(scope="module")
def stack():
    with running_stack(PROJECT, WEEK, env={"PLATFORM_EXECUTOR": "celery"}, up=UP) as client:
        yield client


def _nodes(service: str) -> set[str]:
    """Celery node names of the running containers of compose service ``service``."""
    command, env = compose(PROJECT)
    ids = subprocess.run(
        [*command, "--profile", "celery", "ps", "-q", service], env=env, capture_output=True, text=True, check=True
    ).stdout.split()
    nodes = set()
    for container in ids:
        logs = subprocess.run(["docker", "logs", container], capture_output=True, text=True)
        nodes.update(NODE.findall(logs.stdout + logs.stderr))
        # no code-server probe (a Dagster CLI process every 10 s) beside the worker
        assert docker("inspect", "--format", "{{json .Config.Healthcheck.Test}}", container).strip() == '["NONE"]'

    assert len(nodes) == len(ids), (service, ids, nodes)
    return nodes


def _step_workers(client: DagsterGraphQLClient, run_id: str) -> tuple[dict[str, set[str]], set[str]]:
    """The Celery workers that executed each step of the run (dagster-celery's engine events,
    metadata "Celery worker"), and the steps that succeeded."""
    events = client._execute(
        """query($id: ID!) { logsForRun(runId: $id) { ... on EventConnection { events {
             __typename
             ... on EngineEvent { stepKey metadataEntries { label ... on TextMetadataEntry { text } } }
             ... on ExecutionStepSuccessEvent { stepKey }
           } } } }""",
        {"id": run_id},
    )["logsForRun"]["events"]
    workers: dict[str, set[str]] = {}
    for event in events:
        for entry in event.get("metadataEntries") or []:
            if entry["label"] == "Celery worker":
                workers.setdefault(event["stepKey"], set()).add(entry["text"])
    succeeded = {e["stepKey"] for e in events if e["__typename"] == "ExecutionStepSuccessEvent"}
    return workers, succeeded


def test_a_run_container_hands_its_steps_to_the_worker_containers_of_their_queues(stack):
    first, last = WEEK
    run_id = launch(stack, first, last)
    done = wait(stack, run_id, {"SUCCESS"}, timeout=900)
    assert done["status"] == "SUCCESS"
    default_nodes, heavy_nodes = _nodes("worker"), _nodes("worker-heavy")
    assert len(default_nodes) == 2 and len(heavy_nodes) == 1  # scaled with one command

    workers, succeeded = _step_workers(stack, run_id)
    assert set(workers) == succeeded  # every step was executed by a worker, none in the run container
    assert succeeded >= HEAVY_STEPS
    for step, where in workers.items():
        assert where <= (heavy_nodes if step in HEAVY_STEPS else default_nodes), (step, where)
    assert len(set().union(*workers.values())) >= 2
    expected = expected_flights(first, last)
    assert warehouse_window(first, last) == (expected, expected)
