"""The collector settings every platform process gets on import (platform_assets.garbage_collection)."""

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


def _probe(env: dict[str, str]) -> str:
    out = subprocess.run([sys.executable, "-c", PROBE], env={**os.environ, **env}, capture_output=True, text=True, check=True)
    return out.stdout.strip()


@pytest.mark.parametrize("setting, expected", [
    ({}, f"thresholds {THRESHOLDS} frozen True"),
    ({"PLATFORM_GC_DEFAULTS": "1"}, "thresholds (700, 10, 10) frozen False"),  # CPython's defaults
])
def test_importing_the_platform_tunes_the_collector_unless_told_not_to(setting, expected):
    assert _probe({"PLATFORM_GC_DEFAULTS": "", **setting}) == expected
