"""The collector settings of a process that executes a run (platform_assets.garbage_collection):
applied by the run's executor, never by importing the platform."""

import os
import subprocess
import sys
import textwrap

import pytest

from platform_assets.garbage_collection import THRESHOLDS

CPYTHON_DEFAULTS = "thresholds (700, 10, 10) frozen False"

# An exit hook registered before the platform is imported runs after the platform's own
# (atexit is last-in, first-out): it sees the heap as the interpreter's final collection will.
REPORT = textwrap.dedent("""
    import atexit, gc
    atexit.register(lambda: print("thresholds", gc.get_threshold(), "frozen", gc.get_freeze_count() > 0))
""")

RUN = textwrap.dedent("""
    import dagster as dg
    from platform_assets.executor import terminable_in_process_executor

    @dg.op
    def step():
        return 1

    @dg.job(executor_def=terminable_in_process_executor)
    def one_step():
        step()

    if __name__ == "__main__":
        with dg.DagsterInstance.ephemeral() as instance:
            assert dg.execute_job(dg.reconstructable(one_step), instance=instance).success
""")


def _probe(tmp_path, body: str, env: dict[str, str]) -> str:
    script = tmp_path / "probe.py"
    script.write_text(REPORT + body)
    out = subprocess.run([sys.executable, str(script)], env={**os.environ, "PLATFORM_GC_DEFAULTS": "", **env},
                         capture_output=True, text=True, check=True, cwd=tmp_path)
    return out.stdout.strip().splitlines()[-1]


def test_importing_the_platform_leaves_the_collector_alone(tmp_path):
    assert _probe(tmp_path, "import platform_assets.definitions\n", {}) == CPYTHON_DEFAULTS


@pytest.mark.parametrize("setting, expected", [
    ({}, f"thresholds {THRESHOLDS} frozen True"),
    ({"PLATFORM_GC_DEFAULTS": "1"}, CPYTHON_DEFAULTS),
])
def test_a_run_executed_in_the_process_tunes_the_collector_unless_told_not_to(tmp_path, setting, expected):
    assert _probe(tmp_path, RUN, setting) == expected
