"""Stopping what a test started: a process and every process it spawned.

A process group is not enough: Dagster's webserver and daemon start code servers
(`dagster api grpc`) and run workers, some in sessions of their own, and a child whose
parent died is re-parented to init, out of reach. So the whole tree is collected while the
parent is alive, asked to stop, and killed if it does not; the test then asserts that none
of it survives.
"""

from __future__ import annotations

import contextlib
import subprocess

import psutil


def stop_process_tree(proc: subprocess.Popen, timeout: float = 30) -> list[str]:
    """Terminate ``proc`` and all its descendants; kill those still alive after ``timeout``.

    Returns the command lines of processes that survived even SIGKILL (expected: none).
    """
    try:
        root = psutil.Process(proc.pid)
        tree = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        tree = []
    for p in tree:
        with contextlib.suppress(psutil.Error):
            p.terminate()
    _, alive = psutil.wait_procs(tree, timeout=timeout)
    for p in alive:
        with contextlib.suppress(psutil.Error):
            p.kill()
    _, alive = psutil.wait_procs(alive, timeout=10)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=1)
    survivors = []
    for p in alive:
        with contextlib.suppress(psutil.Error):
            survivors.append(" ".join(p.cmdline()))
    return survivors
