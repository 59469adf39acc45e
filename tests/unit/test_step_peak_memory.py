"""measure_step's peak memory: exact for the step's own process, per step, children included."""

import subprocess
import sys
import time

from platform_assets.observability.step_cost import measure_step

MIB = 2**20


def _touch(n_bytes: int) -> bytearray:
    buffer = bytearray(n_bytes)
    buffer[::4096] = b"x" * len(buffer[::4096])  # make every page resident
    return buffer


def test_a_spike_shorter_than_any_sampling_interval_is_in_the_peak():
    with measure_step() as cost:
        spike = _touch(300 * MIB)
        del spike  # freed within milliseconds, long before a sampler would look
    assert cost.peak_rss_bytes >= 300 * MIB


def test_each_step_reports_its_own_peak_not_an_earlier_steps():
    with measure_step() as first:
        spike = _touch(400 * MIB)
        del spike
    with measure_step() as second:
        time.sleep(0.05)
    assert first.peak_rss_bytes >= 400 * MIB
    assert second.peak_rss_bytes < first.peak_rss_bytes - 300 * MIB


def test_the_figure_is_kept_when_the_step_ends():
    with measure_step() as cost:
        pass
    after_step = cost.peak_rss_bytes
    later = _touch(300 * MIB)
    assert cost.peak_rss_bytes == after_step
    del later


def test_a_child_process_memory_is_counted():
    child_code = "b = bytearray(250 * 2**20); b[::4096] = b'x' * len(b[::4096]); import time; time.sleep(2)"
    with measure_step() as alone:
        time.sleep(0.05)
    with measure_step() as with_child:
        subprocess.run([sys.executable, "-c", child_code], check=True)
    assert with_child.peak_rss_bytes >= alone.peak_rss_bytes + 250 * MIB
