"""Terminating a run stops it, also inside a step that has a RetryPolicy.

Dagster turns an interrupt that lands inside a step with a ``RetryPolicy`` into a retry
request; its plain in-process executor then runs the step again and the rest of the plan
(dagster-io/dagster#15026). The platform's executor must stop instead. A run worker gets
SIGTERM from a run launcher stopping its container (or a node shutting down) and SIGINT from
the default run launcher and from Ctrl-C; both are sent here to a real
``dagster asset materialize`` process running a two-asset graph on the platform's executor.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest

from tests.processes import stop_process_tree

BIN = Path(sys.executable).parent

CODE = """
import os, pathlib, time
import dagster as dg
from platform_assets.executor import platform_executor

MARKS = pathlib.Path(os.environ["MARKS"])

@dg.asset(retry_policy=dg.RetryPolicy(max_retries=3))
def slow():
    (MARKS / f"slow-attempt-{len(list(MARKS.glob('slow-attempt-*')))}").touch()
    time.sleep(120)

@dg.asset(deps=[slow])
def after():
    (MARKS / "after").touch()

defs = dg.Definitions(assets=[slow, after], executor=platform_executor("in_process"))
"""


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_an_interrupted_run_is_not_retried_and_starts_no_further_step(tmp_path, sig):
    (tmp_path / "defs.py").write_text(CODE)
    marks = tmp_path / "marks"
    marks.mkdir()
    home = tmp_path / "dagster_home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DAGSTER_", "PLATFORM_"))}
    env.update(MARKS=str(marks), DAGSTER_HOME=str(home))
    proc = subprocess.Popen(
        [str(BIN / "dagster"), "asset", "materialize", "-f", str(tmp_path / "defs.py"), "--select", "*"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while not (marks / "slow-attempt-0").exists():
            assert proc.poll() is None, proc.stdout.read()[-3000:]
            assert time.monotonic() < deadline, "the slow step never started"
            time.sleep(0.1)
        proc.send_signal(sig)
        output, _ = proc.communicate(timeout=60)  # the step sleeps 120 s: only the interrupt ends it sooner
    finally:
        stop_process_tree(proc)
    assert sorted(p.name for p in marks.iterdir()) == ["slow-attempt-0"], output[-3000:]
    assert proc.returncode != 0
    assert "Run termination received during step 'slow'" in output
    with dg.DagsterInstance.from_config(str(home)) as instance:
        [run] = instance.get_runs()
        assert run.status == dg.DagsterRunStatus.FAILURE  # nobody asked Dagster to cancel it: a failure
        kinds = [
            r.event_log_entry.dagster_event.event_type_value
            for r in instance.get_records_for_run(run.run_id).records
            if r.event_log_entry.is_dagster_event
        ]
    assert "STEP_RESTARTED" not in kinds
    assert kinds.count("STEP_START") == 1
