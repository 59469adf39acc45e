"""A copy of the project as a fresh clone has it, for tests that run Dagster's CLIs as a user would.

The copy has its own ``.env`` and embedded PostgreSQL (instance and warehouse) under its own
``.platform/``, so nothing the developer has is read or changed; the caller stops the server.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def copy_project(dest: Path) -> Path:
    """Copy the tracked and untracked-but-not-ignored files of the project into ``dest``, plus the
    parsed dbt project `make install` adds (written after the files, so dbt's partial parse holds)."""
    files = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    for name in files:
        if (ROOT / name).is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, dest / name)
    for name in ["dbt_project/target/partial_parse.msgpack", "dbt_project/target/manifest.json"]:
        if (ROOT / name).is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(ROOT / name, dest / name)
    return dest


def bare_env(project: Path) -> dict[str, str]:
    """The environment of a new user's shell in ``project``: no ``DAGSTER_*`` or ``PLATFORM_*``
    variables exported, the project's code importable ahead of the installed one."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DAGSTER_", "PLATFORM_"))}
    env.update(PYTHONPATH=str(project), PLATFORM_HOME=str(project), PATH=f"{BIN}:/usr/bin:/bin")
    return env


def make_up(project: Path, env: dict[str, str]) -> None:
    """What ``make up`` does in the copy (its own embedded server and ``.env``), without make
    reinstalling the environment there."""
    subprocess.run([str(BIN / "platform-assets"), "up"], cwd=project, env=env, check=True, capture_output=True)
