"""The tests' process cleanup reaches what a started process spawned in a session of its own."""

from __future__ import annotations

import subprocess
import sys
import time

import psutil

from tests.processes import stop_process_tree

# a parent that starts a child in its own session (as a code server may), then waits
SPAWNER = (
    "import subprocess, sys, time; "
    "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(300)'], start_new_session=True); "
    "time.sleep(300)"
)


def test_a_descendant_in_its_own_session_is_stopped_with_its_parent():
    proc = subprocess.Popen([sys.executable, "-c", SPAWNER], start_new_session=True)
    deadline = time.monotonic() + 30
    while not (children := psutil.Process(proc.pid).children(recursive=True)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert children and children[0].pid != proc.pid
    assert psutil.Process(children[0].pid).as_dict(["pid"])  # alive, in another session
    assert stop_process_tree(proc, timeout=10) == []
    for child in children:
        assert not child.is_running() or child.status() == psutil.STATUS_ZOMBIE
    assert proc.poll() is not None
