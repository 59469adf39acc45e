"""measure_step's peak memory: a child waiting for its own step (dbt's early-started process)
is not charged to the steps that run meanwhile, and is once its step uses it."""

import subprocess
import sys

from platform_assets.observability.step_cost import measure_step, waiting_for_its_step

# A child holding ~200 MiB resident, then idle.
HOLDER = "import time\nblock = bytearray(200 * 2**20)\nblock[::4096] = b'x' * len(block[::4096])\nprint(flush=True)\ntime.sleep(60)"
MIB = 2**20


def test_a_child_waiting_for_its_step_is_left_out_of_other_steps_peak_memory():
    child = subprocess.Popen([sys.executable, "-c", HOLDER], stdout=subprocess.PIPE)
    try:
        child.stdout.readline()  # its memory is resident
        with measure_step() as counted:
            pass
        waiting_for_its_step(child.pid)
        with measure_step() as waiting:
            pass
        waiting_for_its_step(child.pid, False)
        with measure_step() as its_step:
            pass
    finally:
        waiting_for_its_step(child.pid, False)
        child.kill()
        child.wait()
    assert counted.peak_rss_bytes - waiting.peak_rss_bytes > 150 * MIB
    assert its_step.peak_rss_bytes - waiting.peak_rss_bytes > 150 * MIB
