"""The dbt manifest is parsed again in development only when a dbt file changed (or it is missing).

On a copy of the project's dbt folder, with a real ``dbt parse`` (no database needed).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from dagster_dbt import DbtProject

from platform_assets.assets.dbt import DBT_PROJECT_DIR
from platform_assets.assets.dbt_manifest import manifest_is_stale, parsed_sources, prepare_dbt_project

NEW_MODEL = "select 1 as one\n"


@pytest.fixture
def project(tmp_path) -> DbtProject:
    """A copy of dbt_project/ whose manifest (copied from the checkout's) is newer than its sources."""
    copy = tmp_path / "dbt_project"
    shutil.copytree(DBT_PROJECT_DIR, copy, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages"))
    (copy / "target").mkdir()
    for name in ("manifest.json", "partial_parse.msgpack"):  # what `make install` left (the state makes parses partial)
        if (DBT_PROJECT_DIR / "target" / name).exists():
            shutil.copy2(DBT_PROJECT_DIR / "target" / name, copy / "target" / name)
    newest = max(p.stat().st_mtime_ns for p in parsed_sources(copy))
    os.utime(copy / "target" / "manifest.json", ns=(newest + 10**9, newest + 10**9))
    return DbtProject(project_dir=copy, profiles_dir=copy)


def _parsed_at(project: DbtProject) -> int:
    return Path(project.manifest_path).stat().st_mtime_ns


def test_a_fresh_manifest_is_not_parsed_again_in_development(project, monkeypatch):
    monkeypatch.setenv("DAGSTER_IS_DEV_CLI", "1")  # as `dagster dev` and dg set it
    before = _parsed_at(project)
    assert not manifest_is_stale(project)
    prepare_dbt_project(project)
    assert _parsed_at(project) == before


def test_an_added_model_is_parsed_in_development_and_the_manifest_then_lists_it(project, monkeypatch):
    monkeypatch.setenv("DAGSTER_IS_DEV_CLI", "1")
    (Path(project.project_dir) / "models" / "marts" / "added_model.sql").write_text(NEW_MODEL)
    assert manifest_is_stale(project)
    prepare_dbt_project(project)
    nodes = json.loads(Path(project.manifest_path).read_text())["nodes"]
    assert "model.platform.added_model" in nodes
    assert not manifest_is_stale(project)


def test_an_edited_or_removed_file_makes_the_manifest_stale(project):
    project_dir = Path(project.project_dir)
    model = project_dir / "models" / "marts" / "dim_carriers.sql"
    later = _parsed_at(project) + 10**9
    os.utime(model, ns=(later, later))  # edited after the parse
    assert manifest_is_stale(project)
    os.utime(model, ns=(later - 2 * 10**9, later - 2 * 10**9))
    assert not manifest_is_stale(project)
    macro = project_dir / "macros" / "date_window.sql"
    macro.unlink()
    os.utime(macro.parent, ns=(later, later))  # what the removal does to the folder, at a later time
    assert manifest_is_stale(project)


def test_outside_development_a_stale_manifest_is_used_as_built_and_a_missing_one_is_parsed(project, monkeypatch):
    monkeypatch.delenv("DAGSTER_IS_DEV_CLI", raising=False)
    added = Path(project.project_dir) / "models" / "marts" / "added_model.sql"
    added.write_text(NEW_MODEL)
    before = _parsed_at(project)
    prepare_dbt_project(project)  # stale, but a deployment uses the manifest it was built with
    assert _parsed_at(project) == before
    Path(project.manifest_path).unlink()
    prepare_dbt_project(project)  # missing: parsed, whatever the mode
    assert "model.platform.added_model" in json.loads(Path(project.manifest_path).read_text())["nodes"]
