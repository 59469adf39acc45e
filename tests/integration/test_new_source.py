"""A new, real source added by YAML alone, end to end, as a user would.

In a copy of the project: ``dg scaffold defs`` creates the source's ``defs.yaml`` from the
template, the user fills it in for Seattle's daily weather (``vega_datasets``' real
``seattle-weather.csv``, which the code has never seen), drops a few days into the landing
zone, and ``dg launch`` runs raw -> clean -> checks for a partition range. No Python is
written. The copy has its own embedded PostgreSQL (instance and warehouse), stopped at the end.
"""

from __future__ import annotations

import importlib.util
import subprocess
from pathlib import Path

import polars as pl
import psycopg
import pytest

from platform_assets.resources.embedded_postgres import (
    embedded_instance_url,
    embedded_warehouse_url,
    stop_embedded_server,
)
from tests.project_copy import BIN, ROOT, bare_env, copy_project, make_up

DAYS = ["2013-01-01", "2013-01-02", "2013-01-03", "2013-01-04", "2013-01-05"]

EXAMPLE = ROOT / "docs" / "examples" / "seattle_weather"
#: The documented example, with its landing folder templated: resolved by Dagster's component loader.
PLAIN_FOLDER = "folder: seattle_weather "
SEATTLE_WEATHER = (
    (EXAMPLE / "defs.yaml").read_text().replace(PLAIN_FOLDER, "folder: \"{{ env('SEATTLE_LANDING_FOLDER') }}\" ")
)


def _seattle_csv() -> Path:
    spec = importlib.util.find_spec("vega_datasets")
    assert spec is not None and spec.submodule_search_locations, "vega_datasets is in the dev dependencies"
    return Path(list(spec.submodule_search_locations)[0]) / "_data" / "seattle-weather.csv"


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """A copy of the project (as an installed clone has it) with its own embedded server and .env."""
    copy = copy_project(tmp_path_factory.mktemp("newsource") / "project")
    env = {**bare_env(copy), "SEATTLE_LANDING_FOLDER": "seattle_weather"}
    make_up(copy, env)
    yield copy, env
    stop_embedded_server(copy / ".platform")


def _run(args, project, timeout=600) -> subprocess.CompletedProcess:
    copy, env = project
    proc = subprocess.run(args, cwd=copy, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{args}:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
    return proc


def test_a_new_source_declared_in_yaml_runs_end_to_end(project):
    copy, env = project
    # 1. the template, from dg's own scaffolding
    _run(
        [str(BIN / "dg"), "scaffold", "defs", "platform_assets.components.LandingSource", "sources/seattle_weather"],
        project,
    )
    yaml_path = copy / "platform_assets/defs/sources/seattle_weather/defs.yaml"
    assert "type: platform_assets.components.LandingSource" in yaml_path.read_text()
    # 2. filled in for the new dataset (the documented example); dg checks it
    assert PLAIN_FOLDER in (EXAMPLE / "defs.yaml").read_text()
    yaml_path.write_text(SEATTLE_WEATHER)
    _run([str(BIN / "dg"), "check", "yaml"], project)
    _run([str(BIN / "dg"), "check", "defs"], project)
    listed = _run([str(BIN / "dg"), "list", "defs", "--assets", "key:*seattle*"], project).stdout
    assert "raw_seattle_weather" in listed and "clean_seattle_weather" in listed

    # 3. real rows as daily drops, text as delivered; the 3rd day's row is delivered twice
    rows = pl.read_csv(_seattle_csv(), infer_schema=False)
    landing = copy / "data/landing/seattle_weather"
    landing.mkdir(parents=True)
    published = 0
    for day in DAYS:
        part = rows.filter(pl.col("date") == day.replace("-", "/"))
        if day == "2013-01-03":
            part = pl.concat([part, part])
        (landing / f"{day}.csv").write_text(part.write_csv())
        published += part.height

    # 4. one ranged run of the new source's assets and checks
    proc = _run(
        [
            str(BIN / "dg"),
            "launch",
            "--assets",
            "key:raw_seattle_weather or key:clean_seattle_weather",
            "--partition-range",
            f"{DAYS[0]}...{DAYS[-1]}",
        ],
        project,
    )
    assert (proc.stdout + proc.stderr).count("RUN_SUCCESS") == 1

    warehouse = embedded_warehouse_url(copy / ".platform")
    with psycopg.connect(warehouse) as conn:
        clean = conn.execute(
            "select observation_date, temp_max_c, weather from clean.seattle_weather order by 1"
        ).fetchall()
        quarantined = conn.execute(
            "select partition_date, failed_rules, date from quarantine.seattle_weather"
        ).fetchall()
    assert len(clean) + len(quarantined) == published == len(DAYS) + 1
    assert [str(d) for d, _, _ in clean] == DAYS
    expected = rows.filter(pl.col("date") == "2013/01/01").row(0, named=True)
    assert clean[0][1] == float(expected["temp_max"]) and clean[0][2] == expected["weather"]
    assert [(str(d), rule, text) for d, rule, text in quarantined] == [("2013-01-03", "duplicate_day", "2013/01/03")]

    instance = embedded_instance_url(copy / ".platform").replace("postgresql+psycopg2://", "postgresql://")
    with psycopg.connect(instance) as conn:
        checks = dict(
            conn.execute(
                "select check_name, execution_status from asset_check_executions where asset_key like '%seattle%'"
            ).fetchall()
        )
    assert checks == {
        "clean_seattle_weather": "SUCCEEDED",
        "clean_seattle_weather_plausibility": "SUCCEEDED",
        "raw_equals_clean_plus_quarantined": "SUCCEEDED",
        "quarantine_share_within_limit": "SUCCEEDED",
    }

    # 5. the platform-wide parts read the declaration as Dagster loaded it, template resolved
    seen = _run(
        [
            str(BIN / "python"),
            "-c",
            "from platform_assets.sources.registry import declarations; "
            "print(declarations()['seattle_weather'].landing.folder)",
        ],
        project,
    ).stdout.strip()
    assert seen == "seattle_weather"

    # 6. dbt sees it too: the generated `clean` source now lists the table
    _run([str(BIN / "platform-assets"), "dbt-sources"], project)
    assert "name: seattle_weather" in (copy / "dbt_project/models/staging/_clean_sources.yml").read_text()

    # 7. a dbt model on the new source (the documented example): dbt re-parses the changed
    #    project, the model is an asset downstream of clean_seattle_weather and builds
    model = copy / "dbt_project/models/staging/stg_seattle_weather.sql"
    model.write_text((EXAMPLE / "stg_seattle_weather.sql").read_text())
    listed = _run([str(BIN / "dg"), "list", "defs", "--assets", "key:stg_seattle_weather", "--json"], project).stdout
    assert "stg_seattle_weather" in listed and "clean_seattle_weather" in listed
    _run([str(BIN / "dg"), "launch", "--assets", "key:stg_seattle_weather"], project)
    with psycopg.connect(warehouse) as conn:
        staged = conn.execute("select observation_date, weather from staging.stg_seattle_weather order by 1").fetchall()
    assert [(str(d), w) for d, w in staged] == [(str(d), w) for d, _, w in clean]
