"""process_tree_cpu_seconds: the CPU figure dbt's models are charged with never runs backwards."""

import os
import signal
import subprocess
import sys
import time

from platform_assets.observability.step_cost import process_tree_cpu_seconds

# A child that starts a grandchild burning ~0.5 s of CPU, reaps it, then idles: while the
# grandchild lives its CPU is counted among the live descendants; once the child has
# reaped it, that CPU sits in the child's counters for finished children, which this
# process cannot see until the child itself ends.
CHILD = f"""
import subprocess, sys, time
subprocess.run([{sys.executable!r}, "-c", "import time\\nt = time.process_time()\\nwhile time.process_time() - t < 0.5: pass\\ntime.sleep(1.5)"])
time.sleep(30)
"""


def test_cpu_seconds_do_not_fall_when_a_grandchild_is_reaped_by_its_parent():
    child = subprocess.Popen([sys.executable, "-c", CHILD], start_new_session=True)
    try:
        time.sleep(1.2)  # the grandchild has burned its CPU and is idle, still alive
        while_alive = process_tree_cpu_seconds()
        time.sleep(1.8)  # the grandchild has ended and been reaped by the child
        after_reaped = process_tree_cpu_seconds()
        assert after_reaped >= while_alive
    finally:
        os.killpg(child.pid, signal.SIGKILL)  # the child and, on a slow host, a grandchild still running
        child.wait()
