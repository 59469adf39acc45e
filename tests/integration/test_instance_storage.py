"""The instance's event-log storage (dagster.yaml) on a real PostgreSQL: what a ranged run stores."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

from platform_assets.resources.embedded_postgres import ensure_database

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
DEFS = Path(__file__).with_name("instance_defs.py")


def test_a_ranged_run_stores_one_planned_event_per_asset_and_one_check_row_per_run(warehouse):
    parts = urlsplit(warehouse.url)
    ensure_database(urlunsplit(parts._replace(path="/postgres")), "dagster_storage_test")
    env = {
        **{k: v for k, v in os.environ.items() if k != "DAGSTER_EVENT_BATCH_SIZE"},
        "DAGSTER_HOME": str(ROOT),  # the project's dagster.yaml
        "DAGSTER_POSTGRES_URL": urlunsplit(parts._replace(scheme="postgresql+psycopg2", path="/dagster_storage_test")),
    }
    proc = subprocess.run(
        [str(BIN / "dagster"), "asset", "materialize", "-f", str(DEFS), "--select", "*",
         "--partition-range", "2013-01-01...2013-01-10"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]

    with psycopg.connect(urlunsplit(parts._replace(path="/dagster_storage_test"))) as conn:
        (run_id,) = conn.execute("select run_id from runs order by create_timestamp desc limit 1").fetchone()
        events = dict(conn.execute(
            "select dagster_event_type, count(*) from event_logs where run_id = %s group by 1", (run_id,)
        ).fetchall())
        checks = conn.execute(
            "select check_name, partition, execution_status from asset_check_executions where run_id = %s", (run_id,)
        ).fetchall()
        partitions = conn.execute(
            "select asset_key, count(distinct partition) from event_logs where run_id = %s "
            "and dagster_event_type = 'ASSET_MATERIALIZATION' group by 1", (run_id,)
        ).fetchall()
    # every partition of both assets is materialized ...
    assert sorted(partitions) == [('["downstream"]', 10), ('["upstream"]', 10)]
    # ... from one planned event per asset (carrying the range), not one per partition
    assert events["ASSET_MATERIALIZATION_PLANNED"] == 2
    # the unpartitioned check is recorded once for the run and resolved, nothing left PLANNED
    assert checks == [("window_is_fine", None, "SUCCEEDED")]


def test_instance_commands_work_with_either_postgres_driver(warehouse):
    """`dagster instance info` reads every storage's schema state through the pooled event-log engine."""
    parts = urlsplit(warehouse.url)
    ensure_database(urlunsplit(parts._replace(path="/postgres")), "dagster_storage_test")
    for scheme in ("postgresql", "postgresql+psycopg2"):  # psycopg 3 and psycopg2
        env = {**os.environ, "DAGSTER_HOME": str(ROOT),
               "DAGSTER_POSTGRES_URL": urlunsplit(parts._replace(scheme=scheme, path="/dagster_storage_test"))}
        proc = subprocess.run([str(BIN / "dagster"), "instance", "info"], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, (scheme, proc.stderr[-2000:])
        assert "event_log_storage:" in proc.stdout and "Traceback" not in proc.stdout + proc.stderr


def test_a_table_found_is_not_looked_up_again_and_a_missing_one_is(warehouse):
    """has_table is asked before every asset event's tag insert: found tables are remembered."""
    from platform_assets.instance_storage import BatchedPostgresEventLogStorage

    parts = urlsplit(warehouse.url)
    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as conn:
        conn.execute('drop database if exists "dagster_has_table_test" with (force)')  # tables altered below
    ensure_database(urlunsplit(parts._replace(path="/postgres")), "dagster_has_table_test")
    plain = urlunsplit(parts._replace(path="/dagster_has_table_test"))
    storage = BatchedPostgresEventLogStorage(postgres_url=urlunsplit(parts._replace(scheme="postgresql+psycopg2",
                                                                                     path="/dagster_has_table_test")))
    try:
        assert storage.has_table("asset_event_tags")
        assert storage.has_asset_key_col("last_materialization_timestamp")
        assert not storage.has_table("made_later")
        with psycopg.connect(plain, autocommit=True) as conn:
            conn.execute("drop table asset_event_tags")  # only to observe: the answer is remembered
            conn.execute("alter table asset_keys drop column last_materialization_timestamp")
            conn.execute("create table made_later (id int)")
        assert storage.has_table("asset_event_tags")
        assert storage.has_asset_key_col("last_materialization_timestamp")
        assert storage.has_table("made_later")  # a missing table is asked again
    finally:
        storage.dispose()
