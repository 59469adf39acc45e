"""Resources and the executor of every job, configured from the environment (README "Configuration").

``PLATFORM_WAREHOUSE_URL`` (unset: the embedded PostgreSQL under ``.platform/``),
``PLATFORM_LANDING_URL`` (default ``./data/landing``), ``PLATFORM_LAKE_URL`` (default
``./data/lake``), ``PLATFORM_EXECUTOR`` (``in_process`` or ``multiprocess``). Read each time
the definitions load.
"""

from __future__ import annotations

import os

import dagster as dg

from platform_assets.executor import platform_executor
from platform_assets.resources.storage import StorageResource
from platform_assets.resources.warehouse import WarehouseResource


def env_or_default(name: str, default: str) -> str | dg.EnvVar:
    """``EnvVar(name)`` when the variable is set (resolved at run time, never stored in run
    config), else the local default."""
    return dg.EnvVar(name) if os.getenv(name) else default


@dg.definitions
def storage_resources() -> dg.Definitions:
    """The warehouse, landing zone and lake every asset reads or writes, and the executor."""
    return dg.Definitions(
        executor=platform_executor(),
        resources={
            "warehouse": WarehouseResource(url=env_or_default("PLATFORM_WAREHOUSE_URL", "")),
            "landing": StorageResource(url=env_or_default("PLATFORM_LANDING_URL", "data/landing")),
            "lake": StorageResource(url=env_or_default("PLATFORM_LAKE_URL", "data/lake")),
        },
    )
