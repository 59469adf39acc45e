"""The opt-in collector settings (platform_assets.garbage_collection): importing the platform changes nothing unless asked."""

import os
import subprocess
import sys

import pytest

from platform_assets.garbage_collection import THRESHOLDS

# An exit hook registered before the platform is imported runs after the platform's own
# (atexit is last-in, first-out): it sees the heap as the interpreter's final collection will.
PROBE = """
import atexit, gc
atexit.register(lambda: print("thresholds", gc.get_threshold(), "frozen", gc.get_freeze_count() > 0))
import platform_assets
"""


@pytest.mark.parametrize(
    "setting, expected",
    [
        ({}, "thresholds (700, 10, 10) frozen False"),  # CPython's defaults, untouched
        ({"PLATFORM_GC_TUNING": "0"}, "thresholds (700, 10, 10) frozen False"),
        ({"PLATFORM_GC_TUNING": "1"}, f"thresholds {THRESHOLDS} frozen True"),
    ],
)
def test_importing_the_platform_tunes_the_collector_only_when_asked(setting, expected):
    env = {k: v for k, v in os.environ.items() if k != "PLATFORM_GC_TUNING"}
    out = subprocess.run(
        [sys.executable, "-c", PROBE], env={**env, **setting}, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == expected
