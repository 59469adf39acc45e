"""The user-facing commands: `dagster asset materialize` with the real dagster.yaml, and the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from platform_assets.resources.embedded_postgres import ensure_database
from tests.integration.conftest import query

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def test_dagster_cli_materializes_one_partition_with_postgres_instance(warehouse, landing, lake):
    parts = urlsplit(warehouse.url)
    ensure_database(urlunsplit(parts._replace(path="/postgres")), "dagster_test")
    env = {
        **os.environ,
        "DAGSTER_HOME": str(ROOT),  # the top-level dagster.yaml: PostgreSQL run/event storage
        "DAGSTER_POSTGRES_URL": urlunsplit(parts._replace(scheme="postgresql+psycopg2", path="/dagster_test")),
        "PLATFORM_WAREHOUSE_URL": warehouse.url,
        "PLATFORM_LANDING_URL": landing.url,
        "PLATFORM_LAKE_URL": lake.url,
    }
    proc = subprocess.run(
        [
            str(BIN / "dagster"),
            "asset",
            "materialize",
            "-m",
            "platform_assets.definitions",
            "--select",
            "*",
            "--partition",
            "2013-01-09",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "RUN_SUCCESS" in proc.stdout + proc.stderr
    landing_rows = landing.read_bytes("flights/2013-01-09.csv").decode().count("\n") - 1
    assert (
        query(warehouse, "select count(*) from analytics.fct_flights where flight_date = '2013-01-09'")[0][0]
        == landing_rows
    )
    runs = query(
        warehouse.model_copy(update={"url": urlunsplit(parts._replace(path="/dagster_test"))}),
        "select count(*) from runs",
    )
    assert runs[0][0] >= 1  # the run was recorded in the PostgreSQL instance storage


def test_publish_sample_is_idempotent(tmp_path):
    env = {**os.environ, "PLATFORM_LANDING_URL": str(tmp_path)}
    cmd = [str(BIN / "platform-assets"), "publish-sample", "--start", "2013-03-01", "--end", "2013-03-02"]
    first = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
    assert "7 file(s) written" in first.stdout  # 2 days x (flights, weather) + 3 reference files
    mtimes = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*.csv")}
    second = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
    assert "0 file(s) written, 7 unchanged" in second.stdout
    assert {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*.csv")} == mtimes
    header = (tmp_path / "flights" / "2013-03-01.csv").read_text().splitlines()[0]
    assert (
        header
        == "year,month,day,dep_time,sched_dep_time,dep_delay,arr_time,sched_arr_time,arr_delay,carrier,flight,tailnum,origin,dest,air_time,distance,hour,minute,time_hour"
    )
