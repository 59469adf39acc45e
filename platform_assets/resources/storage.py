"""Object storage behind one resource: the landing zone and the lake.

Keys are ``/``-separated paths relative to the resource's root ``url``. Today the root is a
local folder; an ``s3://bucket/prefix`` root is rejected with a clear message until S3
support lands (issue 4), so no caller needs to change when it does.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import tempfile
from pathlib import Path

import dagster as dg
import polars as pl
from pydantic import Field

from platform_assets.paths import resolve


class StorageResource(dg.ConfigurableResource):
    """Files under a root: ``url`` is a local folder (relative paths resolve from the project root)."""

    url: str = Field(description="root of the storage: a local folder")

    def _root(self) -> Path:
        if "://" in self.url:
            raise NotImplementedError(f"storage URL {self.url!r}: only local folders are supported so far")
        return resolve(self.url)

    def _path(self, key: str) -> Path:
        return self._root() / key

    def uri(self, key: str) -> str:
        """Absolute location of ``key``, for messages and metadata."""
        return str(self._path(key))

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def read_bytes(self, key: str) -> bytes:
        """Content of ``key``. Raises FileNotFoundError naming the full location."""
        return self._path(key).read_bytes()

    def last_modified(self, key: str) -> dt.datetime:
        """When ``key`` was last written (UTC, microsecond precision)."""
        return dt.datetime.fromtimestamp(self._path(key).stat().st_mtime, tz=dt.UTC)

    def write_bytes(self, key: str, data: bytes) -> None:
        """Write ``key`` atomically: readers see the old content or the new, never a torn file."""
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def list_keys(self, prefix: str = "") -> list[str]:
        """Sorted keys under ``prefix`` (a folder), skipping hidden and temporary files."""
        base = self._path(prefix)
        if not base.is_dir():
            return []
        root = self._root()
        return sorted(
            p.relative_to(root).as_posix()
            for p in base.rglob("*")
            if p.is_file() and not p.name.startswith(".")
        )

    def write_parquet(self, key: str, frame: pl.DataFrame) -> int:
        """Write ``frame`` as parquet at ``key`` (atomically); returns the bytes written."""
        buffer = io.BytesIO()
        frame.write_parquet(buffer, compression="zstd")
        data = buffer.getvalue()
        self.write_bytes(key, data)
        return len(data)

    def read_parquet(self, keys: list[str]) -> pl.DataFrame:
        """Concatenate the parquet files at ``keys`` (all must exist)."""
        if not keys:
            raise ValueError("read_parquet needs at least one key")
        return pl.read_parquet([self._path(k) for k in keys])
