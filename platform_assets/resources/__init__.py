"""Dagster resources: the warehouse (embedded PostgreSQL or a URL) and storage (landing zone, lake)."""

from platform_assets.resources.storage import StorageResource
from platform_assets.resources.warehouse import WarehouseResource

__all__ = ["StorageResource", "WarehouseResource"]
