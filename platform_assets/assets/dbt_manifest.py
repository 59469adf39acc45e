"""When the dbt manifest, from which Dagster builds the dbt assets, is parsed again.

dagster-dbt's ``DbtProject.prepare_if_dev()`` runs ``dbt --version`` and a ``dbt parse``
whenever the definitions load under ``dagster dev`` or a ``dg`` command (both set
``DAGSTER_IS_DEV_CLI`` for every process they start). That includes the code server's
load, each reload, every run worker that ``dagster dev`` launches and every ``dg check`` /
``dg list`` / ``dg launch``. The parse is a full one, because the connection settings
differ from those the manifest was parsed with, so it adds ~13 s to each such process on
a 2-core machine even when no dbt file changed.

:func:`prepare_dbt_project` keeps dagster-dbt's own preparation (``preparer.prepare``:
``dbt deps`` if the project has packages, then ``dbt parse``) and its development
contract (an edited model shows up at the next reload or run), but runs it only when the
manifest is missing, or, in development, older than a file dbt parses. Outside
development the manifest is used as built (``make install``, the image build), as
dagster-dbt does.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import yaml
from dagster_dbt import DbtProject

#: Files at the top of a dbt project that dbt reads when it parses.
PROJECT_FILES = ("dbt_project.yml", "packages.yml", "dependencies.yml", "selectors.yml")
#: dbt_project.yml keys of the folders dbt parses, with dbt's defaults.
PATH_KEYS = {
    "model-paths": ["models"],
    "macro-paths": ["macros"],
    "test-paths": ["tests"],
    "seed-paths": ["seeds"],
    "snapshot-paths": ["snapshots"],
    "analysis-paths": ["analyses"],
}


def parsed_sources(project_dir: Path) -> list[Path]:
    """Every file and folder under ``project_dir`` that a ``dbt parse`` reads.

    The project files (``dbt_project.yml`` and, where present, ``packages.yml``,
    ``dependencies.yml``, ``selectors.yml``) and the folders named by ``dbt_project.yml``'s
    ``*-paths`` keys (dbt's defaults where a key is absent), with every file and sub-folder
    under them. Folders count because removing a file changes only its folder's mtime.

    Raises:
        FileNotFoundError: ``project_dir`` has no ``dbt_project.yml``.
    """
    config = yaml.safe_load((project_dir / "dbt_project.yml").read_text()) or {}
    found = [project_dir / name for name in PROJECT_FILES if (project_dir / name).exists()]
    for key, default in PATH_KEYS.items():
        for folder in config.get(key, default):
            root = project_dir / folder
            if not root.is_dir():
                continue
            found.append(root)
            for parent, dirs, files in os.walk(root):
                found.extend(Path(parent) / name for name in [*dirs, *files])
    return found


def manifest_is_stale(project: DbtProject) -> bool:
    """Whether ``project``'s ``manifest.json`` is missing or older than a file dbt parses.

    Compares modification times (nanoseconds): a ``dbt parse`` writes the manifest after
    reading its sources, so a fresh manifest is newer than every one of them.
    """
    try:
        parsed_at = Path(project.manifest_path).stat().st_mtime_ns
        return any(path.stat().st_mtime_ns > parsed_at for path in parsed_sources(Path(project.project_dir)))
    except FileNotFoundError:  # no manifest, or a file removed while we looked: parse to be sure
        return True


def prepare_dbt_project(project: DbtProject) -> None:
    """Parse ``project`` with dagster-dbt's preparer when its manifest is missing or, in development, stale.

    Development is dagster-dbt's own test (``DAGSTER_IS_DEV_CLI``, set by ``dagster dev``
    and ``dg``). Writes ``<project_dir>/<target_path>/manifest.json``; needs no database.

    Raises:
        dagster_dbt.errors.DagsterDbtCliRuntimeError: ``dbt parse`` failed (e.g. a model
            with a Jinja syntax error), with dbt's message.
    """
    missing = not Path(project.manifest_path).exists()
    if missing or (project.preparer.using_dagster_dev() and manifest_is_stale(project)):
        with _dbt_on_path():
            project.preparer.prepare(project)


@contextlib.contextmanager
def _dbt_on_path() -> Iterator[None]:
    """dagster-dbt's preparer starts a plain ``dbt``: when no venv is active (``.venv/bin/dagster``
    run directly), put the one beside this interpreter on ``PATH`` while it runs."""
    if shutil.which("dbt") is not None:
        yield
        return
    saved = os.environ.get("PATH", "")
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{saved}"
    try:
        yield
    finally:
        os.environ["PATH"] = saved
