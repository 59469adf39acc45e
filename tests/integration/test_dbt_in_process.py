"""dbt in the step's process (dbtRunner) behaves as dagster-dbt's dbt subprocess does:
the same events, the same errors, interruption cancels dbt's queries, the environment is left as found.

The end-to-end runs of the other integration tests use the in-process path (the default);
here both paths are compared on the same commands.
"""

from __future__ import annotations

import os
import signal
import time

import psycopg
import pytest
from dagster_dbt.errors import DagsterDbtCliRuntimeError

from platform_assets.assets.dbt import PlatformDbtResource, dbt_project, process_env
from platform_assets.assets.dbt_in_process import InProcessDbt, dbt_started_in_process


def _resource(in_process: bool) -> PlatformDbtResource:
    return PlatformDbtResource(project_dir=dbt_project, in_process=in_process)


def _events(invocation) -> list[tuple[str, str, str]]:
    """(event name, level, message) of every event dbt reported, in order."""
    return [
        (event.raw_event["info"]["name"], event.raw_event["info"]["level"], event.raw_event["info"]["msg"])
        for event in invocation.stream_raw_events()
    ]


def test_the_same_command_gives_the_same_events_in_process_and_as_a_subprocess(tmp_path):
    args = ["ls", "--resource-type", "model", "--output", "name"]
    in_process = _events(_resource(True).cli(args, target_path=tmp_path / "in_process"))
    subprocess_ = _events(_resource(False).cli(args, target_path=tmp_path / "subprocess"))
    assert in_process == subprocess_
    models = {path.stem for path in (dbt_project.project_dir / "models").rglob("*.sql")}
    assert models <= {message for _, _, message in in_process}


def test_a_failing_command_raises_dagster_dbts_error_in_both_modes(tmp_path):
    messages = {}
    for in_process in (True, False):
        invocation = _resource(in_process).cli(
            ["run-operation", "no_such_macro"], raise_on_error=True, target_path=tmp_path / str(in_process)
        )
        with pytest.raises(DagsterDbtCliRuntimeError) as failure:
            invocation.wait()
        assert invocation.process.returncode not in (0, None)
        messages[in_process] = str(failure.value)
    assert all("no_such_macro" in message for message in messages.values())


def test_the_environment_is_left_as_it_was(tmp_path):
    before = dict(os.environ)
    _resource(True).cli(["ls", "--resource-type", "model"], target_path=tmp_path).wait()
    assert dict(os.environ) == before


def test_the_process_is_started_by_dbt_only_inside_the_block():
    from dagster_dbt.core import dbt_cli_invocation

    import subprocess

    with dbt_started_in_process():
        assert dbt_cli_invocation.subprocess.Popen is InProcessDbt
    assert dbt_cli_invocation.subprocess is subprocess


def test_an_interrupt_cancels_the_query_dbt_is_running(warehouse, tmp_path):
    """dagster-dbt forwards a run's termination as SIGINT: dbt's open query is cancelled, not waited for."""
    with process_env(warehouse.dbt_env()):
        invocation = _resource(True).cli(["show", "--inline", "select pg_sleep(60) as slept"], target_path=tmp_path)
        dbt = invocation.process
        assert isinstance(dbt, InProcessDbt)
        started = time.monotonic()
        # autocommit: inside one transaction pg_stat_activity would stay the first snapshot
        with psycopg.connect(warehouse.get_url(), autocommit=True) as conn:  # wait until dbt's query runs
            while not conn.execute("select 1 from pg_stat_activity where query like '%%pg_sleep(60)%%' "
                                   "and pid <> pg_backend_pid()").fetchone():
                assert dbt.poll() is None, b"\n".join(dbt.stdout)
                assert time.monotonic() - started < 60, "dbt never started its query"
                time.sleep(0.1)
        dbt.send_signal(signal.SIGINT)
        returncode = dbt.wait(timeout=30)
    assert returncode != 0
    assert time.monotonic() - started < 45  # well before pg_sleep(60) could have ended
    output = b"\n".join(dbt.stdout).decode()
    assert "Database Error in sql_operation inline_query" in output  # dbt's report of the ended query
