"""The README and the docs site: short, current, and made of examples that exist.

Generated pages must equal what their generators render now; the README's source example is
the tested example file; every ``make`` target and ``platform-assets`` command the README
and docs name exists; no page reads like a development log.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from platform_assets.assets.dbt_dictionary import MARTS_DICTIONARY_FILE, render_marts_dictionary
from platform_assets.cli import build_parser
from platform_assets.sources.registry import declarations
from platform_assets.sources.yaml_reference import YAML_REFERENCE_FILE, render_yaml_reference

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
PAGES = sorted((ROOT / "docs").rglob("*.md"))
USER_FACING = [README, *PAGES]


def test_the_readme_reads_in_five_minutes():
    assert len(README.read_text().splitlines()) <= 250


def test_the_readme_source_example_is_the_tested_example_file():
    example = (ROOT / "docs" / "examples" / "seattle_weather" / "defs.yaml").read_text()
    assert f"```yaml\n{example}```\n" in README.read_text()


def test_the_yaml_reference_is_current():
    assert YAML_REFERENCE_FILE.read_text() == render_yaml_reference(declarations()), (
        "run `platform-assets yaml-reference`"
    )


def test_the_yaml_reference_lists_every_key_of_the_schema():
    page = YAML_REFERENCE_FILE.read_text()
    for key in (
        "partitioning",
        "grain",
        "plausible",
        "impossible",
        "local_date_of",
        "expect",
        "quarantine_share_limit",
    ):
        assert f"| `{key}` |" in page, key


def test_the_dbt_models_page_is_current():
    assert MARTS_DICTIONARY_FILE.read_text() == render_marts_dictionary(), "run `platform-assets marts-dictionary`"


def test_the_dbt_models_page_documents_every_mart_column():
    page = MARTS_DICTIONARY_FILE.read_text()
    assert "### fct_flights" in page and "daily partitions by `flight_date`" in page
    assert "| `dep_delay_min` | integer |" in page
    assert "grain: `flight_date` × `carrier` × `origin`" in page


def test_the_performance_page_is_current():
    check = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "report.py"), "--check"], capture_output=True, text=True
    )
    assert check.returncode == 0, check.stdout + check.stderr


@pytest.mark.parametrize("path", USER_FACING, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_development_journal(path):
    text = path.read_text()
    found = re.findall(r"(?i)\b(?:sessions?\b(?! (?:state|cookie))|issue ?#?\d+|issue-\d+)", text)
    assert found == [], f"{path}: {found}"


def _makefile_targets() -> set[str]:
    return set(re.findall(r"^([a-z][a-z0-9-]*):", (ROOT / "Makefile").read_text(), flags=re.M))


@pytest.mark.parametrize("path", USER_FACING, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_make_target_named_exists(path):
    named = set(re.findall(r"`make ([a-z][a-z0-9-]*)", path.read_text()))
    named |= set(re.findall(r"^make ([a-z][a-z0-9-]*)", path.read_text(), flags=re.M))
    assert named - _makefile_targets() == set()


@pytest.mark.parametrize("path", USER_FACING, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_platform_assets_command_named_exists(path):
    usage = build_parser().format_usage()  # "usage: platform-assets [-h] {up,summary,...} ..."
    commands = set(re.search(r"\{([^}]*)\}", usage).group(1).split(","))  # type: ignore[union-attr]
    named = set(re.findall(r"(?:`|/bin/|^)platform-assets ([a-z][a-z-]+)", path.read_text(), flags=re.M))
    assert named - commands == set()
