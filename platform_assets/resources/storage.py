"""Object storage behind one resource: the landing zone and the lake.

Keys are ``/``-separated paths relative to the resource's root ``url``: a local folder
(relative paths resolve from the project root) or ``s3://bucket/prefix``. S3 goes through
dagster-aws' ``S3Resource``, configured by the standard AWS environment variables
(``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_REGION``, ``AWS_ENDPOINT_URL`` for
an S3-compatible server such as MinIO). Callers never see which one is in use.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import os
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

import dagster as dg
import polars as pl
import pyarrow.parquet as pq
from dagster_aws.s3 import S3Resource
from pydantic import Field, PrivateAttr

from platform_assets.paths import resolve


@dataclass(frozen=True)
class ObjectMeta:
    """What a listing knows about one stored object: modification time (UTC) and size in bytes."""

    modified: dt.datetime
    size: int


class Backend(Protocol):
    """The operations every storage backend provides (keys relative to the root)."""

    def uri(self, key: str) -> str: ...
    def exists(self, key: str) -> bool: ...
    def read_bytes(self, key: str) -> bytes: ...
    def stat(self, key: str) -> ObjectMeta: ...
    def write_bytes(self, key: str, data: bytes) -> None: ...
    def delete(self, key: str) -> None: ...
    def list(self, prefix: str, since: dt.datetime | None) -> dict[str, ObjectMeta]: ...
    def reading(self, key: str) -> contextlib.AbstractContextManager[Path]: ...
    def writing(self, key: str) -> contextlib.AbstractContextManager[Path]: ...


class LocalBackend:
    """A local folder. Writes go to a temporary file and are renamed into place (atomic)."""

    def __init__(self, root: Path):
        self.root = root

    def _path(self, key: str) -> Path:
        return self.root / key

    def uri(self, key: str) -> str:
        return str(self._path(key))

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def read_bytes(self, key: str) -> bytes:
        return self._path(key).read_bytes()

    def stat(self, key: str) -> ObjectMeta:
        stat = self._path(key).stat()
        return ObjectMeta(modified=dt.datetime.fromtimestamp(stat.st_mtime, tz=dt.UTC), size=stat.st_size)

    def write_bytes(self, key: str, data: bytes) -> None:
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

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    @contextlib.contextmanager
    def reading(self, key: str) -> Iterator[Path]:
        path = self._path(key)
        if not path.is_file():
            raise FileNotFoundError(f"no such file: {path}")
        yield path

    @contextlib.contextmanager
    def writing(self, key: str) -> Iterator[Path]:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        os.close(fd)
        try:
            yield Path(tmp)
            os.replace(tmp, path)
        finally:
            Path(tmp).unlink(missing_ok=True)

    def list(self, prefix: str, since: dt.datetime | None) -> dict[str, ObjectMeta]:
        base = self._path(prefix)
        if not base.is_dir():
            return {}
        out = {}
        for path in base.rglob("*"):
            if path.is_file() and not path.name.startswith("."):
                meta = self.stat(path.relative_to(self.root).as_posix())
                if since is None or meta.modified >= since:
                    out[path.relative_to(self.root).as_posix()] = meta
        return out


class StorageResource(dg.ConfigurableResource):
    """Files under a root ``url``: a local folder or ``s3://bucket/prefix``."""

    url: str = Field(description="root of the storage: a local folder or s3://bucket/prefix")
    s3: S3Resource = Field(
        default_factory=S3Resource,
        description="S3 client settings for s3:// roots; by default from the standard AWS environment variables",
    )

    # One backend per resource instance: building a boto3 client takes ~150 ms, and a ranged
    # run makes thousands of storage calls (a year of raw files is read, checked and written).
    _backend_instance: Backend | None = PrivateAttr(default=None)

    @property
    def is_s3(self) -> bool:
        return self.url.startswith("s3://")

    def _backend(self) -> Backend:
        if self._backend_instance is None:
            self._backend_instance = self._new_backend()
        return self._backend_instance

    def _new_backend(self) -> Backend:
        if self.is_s3:
            from platform_assets.resources.storage_s3 import S3Backend

            return S3Backend(self.url, self.s3.get_client())
        if "://" in self.url:
            raise ValueError(f"storage URL {self.url!r}: use a local folder or s3://bucket/prefix")
        return LocalBackend(resolve(self.url))

    def uri(self, key: str) -> str:
        """Absolute location of ``key`` (a path or an ``s3://`` URI), for messages and metadata."""
        return self._backend().uri(key)

    def exists(self, key: str) -> bool:
        return self._backend().exists(key)

    def read_bytes(self, key: str) -> bytes:
        """Content of ``key``. Raises FileNotFoundError naming the full location."""
        return self._backend().read_bytes(key)

    def stat(self, key: str) -> ObjectMeta:
        """Modification time (UTC) and size of ``key``. Raises FileNotFoundError when absent."""
        return self._backend().stat(key)

    def last_modified(self, key: str) -> dt.datetime:
        """When ``key`` was last written (UTC)."""
        return self.stat(key).modified

    def write_bytes(self, key: str, data: bytes) -> None:
        """Write ``key`` atomically: readers see the old content or the new, never a torn file."""
        self._backend().write_bytes(key, data)

    def delete(self, key: str) -> None:
        """Remove ``key`` (no error when it is already gone)."""
        self._backend().delete(key)

    def list_with_metadata(self, prefix: str = "", since: dt.datetime | None = None) -> dict[str, ObjectMeta]:
        """Keys under ``prefix`` with their metadata, only those modified at or after ``since`` if given.

        Hidden and temporary files (a name starting with ``.``) are skipped.
        """
        return self._backend().list(prefix, since)

    def list_keys(self, prefix: str = "") -> list[str]:
        """Sorted keys under ``prefix`` (a folder), skipping hidden and temporary files."""
        return sorted(self.list_with_metadata(prefix))

    @contextlib.contextmanager
    def open_binary(self, key: str) -> Iterator[BinaryIO]:
        """``key``'s content as a binary stream, read as it is consumed (memory stays small).

        A local file is opened in place; an S3 object is first downloaded to a temporary
        file. Raises FileNotFoundError naming the full location.
        """
        with self._backend().reading(key) as path, open(path, "rb") as stream:
            yield stream

    def write_parquet_batches(self, key: str, frames: Iterable[pl.DataFrame]) -> int:
        """Write ``frames`` (one schema; at least one frame) as the row groups of one parquet
        file at ``key``, atomically; returns the bytes written.

        Frames are written as they come, so memory holds one frame at a time: the file is
        built in a temporary file (beside the target, or on local disk for S3) and becomes
        ``key`` only when complete. If ``frames`` raises, ``key`` keeps its previous content.

        Raises:
            ValueError: ``frames`` is empty.
        """
        with self._backend().writing(key) as path:
            writer = None
            try:
                for frame in frames:
                    table = frame.to_arrow()
                    if writer is None:
                        writer = pq.ParquetWriter(path, table.schema, compression="zstd")
                    writer.write_table(table.cast(writer.schema))
            finally:
                if writer is not None:
                    writer.close()
            if writer is None:
                raise ValueError(f"write_parquet_batches({key!r}): no frame to write")
            size = path.stat().st_size
        return size

    def iter_parquet(self, key: str, batch_rows: int, columns: list[str] | None = None) -> Iterator[pl.DataFrame]:
        """The rows of the parquet file at ``key`` in file order, in frames of at most ``batch_rows`` rows.

        Memory holds one batch (and the row group it is cut from). Raises
        FileNotFoundError when ``key`` is absent.
        """
        with self._backend().reading(key) as path:
            parquet = pq.ParquetFile(path)
            produced = False
            for batch in parquet.iter_batches(batch_size=batch_rows, columns=columns):
                produced = True
                yield pl.DataFrame(pl.from_arrow(batch))
            if not produced:
                empty = parquet.schema_arrow.empty_table().select(columns or parquet.schema_arrow.names)
                yield pl.DataFrame(pl.from_arrow(empty))

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
        if self.is_s3:
            backend = self._backend()
            return pl.concat([pl.read_parquet(io.BytesIO(backend.read_bytes(k))) for k in keys])
        return pl.read_parquet([self.uri(k) for k in keys])

    def parquet_row_counts(self, keys: list[str]) -> dict[str, int]:
        """Rows of each parquet file at ``keys`` (all must exist), keyed like ``keys``.

        Local files are counted in one scan that reads only what polars needs to count;
        on S3 each object is fetched.
        """
        if not keys:
            return {}
        if self.is_s3:
            backend = self._backend()
            return {
                k: pl.scan_parquet(io.BytesIO(backend.read_bytes(k))).select(pl.len()).collect().item() for k in keys
            }
        by_path = {self.uri(k): k for k in keys}
        counts = pl.scan_parquet(list(by_path), include_file_paths="_path").group_by("_path").len().collect()
        found = {by_path[path]: n for path, n in counts.iter_rows()}
        return {k: found.get(k, 0) for k in keys}

    def parquet_row_count(self, keys: list[str]) -> int:
        """Total rows of the parquet files at ``keys`` (see :meth:`parquet_row_counts`)."""
        return sum(self.parquet_row_counts(keys).values())
