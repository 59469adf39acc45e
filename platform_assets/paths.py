"""Where local state lives by default.

Relative paths in configuration (``PLATFORM_LANDING_URL``, ``PLATFORM_LAKE_URL``, the
embedded warehouse home) resolve against the project root, the folder holding
``pyproject.toml``, not the current directory. dbt, Dagster's step processes and the
CLI therefore all find the same warehouse and files wherever they are started from.
``PLATFORM_HOME`` overrides the root (e.g. ``/app`` in a container, a temp dir in tests).
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

PROJECT_ROOT = Path(os.getenv("PLATFORM_HOME") or Path(__file__).resolve().parents[1])


@functools.lru_cache(maxsize=1024)
def resolve(path: str | Path) -> Path:
    """``path`` made absolute: relative paths are taken from :data:`PROJECT_ROOT`.

    Cached: storage resolves its root on every call (thousands per ranged run), and
    ``Path.resolve`` asks the filesystem about every component each time.
    """
    candidate = Path(path).expanduser()
    return candidate if candidate.is_absolute() else (PROJECT_ROOT / candidate).resolve()
