"""dbt's process started when a run begins (DbtWorker) behaves as dagster-dbt's own dbt process:
the same events, the same errors, an interrupt cancels dbt's query; it is warmed up with the
run's connection, and ended with the run when nothing used it.
"""

from __future__ import annotations

import shutil
import signal
import time
from pathlib import Path

import dagster as dg
import psycopg
import pytest
from dagster_dbt.errors import DagsterDbtCliRuntimeError

from platform_assets.assets.dbt import PlatformDbtResource, dbt_project, keep_partial_parse, partial_parse_state, process_env


@pytest.fixture(scope="module")
def kept_state(warehouse, tmp_path_factory) -> Path:
    """The partial-parse state kept for the test warehouse's connection (as a first run leaves it)."""
    connection = warehouse.dbt_env()
    state = partial_parse_state(Path(dbt_project.project_dir) / dbt_project.target_path, connection)
    if not state.exists():
        target = tmp_path_factory.mktemp("parse")
        with process_env(connection):
            PlatformDbtResource(project_dir=dbt_project).cli(["parse"], target_path=target).wait()
        keep_partial_parse(target, state)
    assert state.exists()
    return state


def _started(warehouse, **fields) -> PlatformDbtResource:
    """The resource as a run sets it up: its dbt process started."""
    resource = PlatformDbtResource(project_dir=dbt_project, warehouse=warehouse, **fields)
    resource.setup_for_execution(dg.build_init_resource_context())
    return resource


def _events(invocation) -> list[tuple[str, str, str]]:
    return [
        (event.raw_event["info"]["name"], event.raw_event["info"]["level"], event.raw_event["info"]["msg"])
        for event in invocation.stream_raw_events()
    ]


def test_the_early_process_gives_the_events_of_a_new_dbt_process(warehouse, kept_state, tmp_path):
    args = ["ls", "--resource-type", "model", "--output", "name"]
    resource = _started(warehouse)
    worker = resource._worker
    try:
        waited = time.monotonic()
        while worker.warm_up_outcome() is None:  # as when the run's first steps outlast the warm-up
            assert worker.process.poll() is None and time.monotonic() - waited < 120, "the warm-up never ended"
            time.sleep(0.1)
        outcome = worker.warm_up_outcome()
        with process_env(warehouse.dbt_env()):
            invocation = resource.cli(args, target_path=tmp_path / "early")
            assert invocation.process is worker.process  # no new process was started
            early = _events(invocation)
            fresh = _events(PlatformDbtResource(project_dir=dbt_project, in_process=False).cli(args, target_path=tmp_path / "new"))
    finally:
        resource.teardown_after_execution(dg.build_init_resource_context())
    assert early == fresh
    assert outcome["success"] is True  # warmed with the run's connection and the kept state
    assert worker.process.returncode == 0


def test_a_failing_command_raises_dagster_dbts_error(warehouse, kept_state, tmp_path):
    resource = _started(warehouse)
    try:
        with process_env(warehouse.dbt_env()):
            invocation = resource.cli(["run-operation", "no_such_macro"], raise_on_error=True, target_path=tmp_path)
            assert invocation.process is resource._worker.process
            with pytest.raises(DagsterDbtCliRuntimeError, match="no_such_macro"):
                invocation.wait()
    finally:
        resource.teardown_after_execution(dg.build_init_resource_context())
    assert invocation.process.returncode not in (0, None)


def test_an_unused_process_ends_with_the_run_and_leaves_no_folder(warehouse, kept_state):
    resource = _started(warehouse)
    worker, folder = resource._worker, Path(resource._worker_target)
    assert worker.process.poll() is None and folder.is_dir()
    resource.teardown_after_execution(dg.build_init_resource_context())
    assert worker.process.poll() is not None
    assert not folder.exists()


def test_the_process_is_not_started_early_when_turned_off(warehouse):
    resource = _started(warehouse, start_early=False)
    assert resource._worker is None
    resource = _started(warehouse, fetch_metadata=True)  # that path needs dagster-dbt's own subprocess
    assert resource._worker is None


def test_an_interrupt_cancels_the_query_the_early_process_runs(warehouse, kept_state, tmp_path):
    """dagster-dbt forwards a run's termination as SIGINT: dbt's open query is cancelled, not waited for."""
    resource = _started(warehouse)
    try:
        with process_env(warehouse.dbt_env()):
            invocation = resource.cli(["show", "--inline", "select pg_sleep(60) as slept"], target_path=tmp_path)
            dbt = invocation.process
            assert dbt is resource._worker.process
            started = time.monotonic()
            with psycopg.connect(warehouse.get_url(), autocommit=True) as conn:  # wait until dbt's query runs
                while not conn.execute("select 1 from pg_stat_activity where query like '%%pg_sleep(60)%%' "
                                       "and pid <> pg_backend_pid()").fetchone():
                    assert dbt.poll() is None, "dbt ended before its query ran"
                    assert time.monotonic() - started < 60, "dbt never started its query"
                    time.sleep(0.1)
            dbt.send_signal(signal.SIGINT)
            returncode = dbt.wait(timeout=30)
    finally:
        resource.teardown_after_execution(dg.build_init_resource_context())
    assert returncode != 0
    assert time.monotonic() - started < 45  # well before pg_sleep(60) could have ended
    with psycopg.connect(warehouse.get_url(), autocommit=True) as conn:
        assert not conn.execute("select 1 from pg_stat_activity where query like '%%pg_sleep(60)%%' "
                                "and pid <> pg_backend_pid()").fetchone()


def test_without_a_kept_state_the_process_only_imports_dbt(warehouse, kept_state, tmp_path):
    """A machine's first run: no warm-up (it would parse the whole project for nothing)."""
    moved = tmp_path / "state"
    shutil.move(kept_state, moved)
    try:
        resource = _started(warehouse)
        assert resource._worker.warm_up is None and resource._worker_target is None
        resource.teardown_after_execution(dg.build_init_resource_context())
    finally:
        shutil.move(moved, kept_state)
