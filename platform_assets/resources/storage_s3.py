"""The S3 backend of :class:`platform_assets.resources.storage.StorageResource`.

A root ``s3://bucket/prefix`` maps key ``flights/2013-01-01.csv`` to object
``prefix/flights/2013-01-01.csv``. A PUT is atomic per object, so readers never see a torn
file. Listing uses dagster-aws' ``get_objects`` (paginated ``ListObjectsV2``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

from botocore.exceptions import ClientError
from dagster_aws.s3.sensor import get_objects

from platform_assets.resources.storage import ObjectMeta


class S3Backend:
    """Objects under ``s3://bucket/prefix`` through a boto3 S3 client."""

    def __init__(self, url: str, client):
        parsed = urlparse(url)
        if not parsed.netloc:
            raise ValueError(f"storage URL {url!r}: expected s3://bucket[/prefix]")
        self.bucket = parsed.netloc
        self.prefix = parsed.path.strip("/")
        self.client = client

    def _object(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{self._object(key)}"

    def exists(self, key: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=self._object(key))
        except ClientError as exc:
            if exc.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    def read_bytes(self, key: str) -> bytes:
        try:
            return self.client.get_object(Bucket=self.bucket, Key=self._object(key))["Body"].read()
        except ClientError as exc:
            if exc.response["Error"]["Code"] in ("404", "NoSuchKey"):
                raise FileNotFoundError(f"no such object: {self.uri(key)}") from exc
            raise

    def stat(self, key: str) -> ObjectMeta:
        try:
            head = self.client.head_object(Bucket=self.bucket, Key=self._object(key))
        except ClientError as exc:
            if exc.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound"):
                raise FileNotFoundError(f"no such object: {self.uri(key)}") from exc
            raise
        return ObjectMeta(modified=head["LastModified"].astimezone(dt.UTC), size=head["ContentLength"])

    def write_bytes(self, key: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self._object(key), Body=data)

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._object(key))

    @contextlib.contextmanager
    def reading(self, key: str) -> Iterator[Path]:
        """The object downloaded (streamed) to a temporary file, removed afterwards."""
        with tempfile.TemporaryDirectory(prefix="s3-read-") as folder:
            path = Path(folder) / key.rsplit("/", 1)[-1]
            try:
                self.client.download_file(self.bucket, self._object(key), str(path))
            except ClientError as exc:
                if exc.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound"):
                    raise FileNotFoundError(f"no such object: {self.uri(key)}") from exc
                raise
            yield path

    @contextlib.contextmanager
    def writing(self, key: str) -> Iterator[Path]:
        """A temporary file that is uploaded (multipart for large files) when the block succeeds.

        S3 publishes an object only when its upload completes, so readers never see a torn file.
        """
        with tempfile.TemporaryDirectory(prefix="s3-write-") as folder:
            path = Path(folder) / key.rsplit("/", 1)[-1]
            path.touch()
            yield path
            self.client.upload_file(str(path), self.bucket, self._object(key))

    def list(self, prefix: str, since: dt.datetime | None) -> dict[str, ObjectMeta]:
        root = f"{self.prefix}/" if self.prefix else ""
        folder = f"{root}{prefix.strip('/')}/" if prefix.strip("/") else root
        # get_objects' bound is exclusive and S3 times have 1 s resolution: step back a second
        # and filter ourselves so objects at exactly ``since`` are kept.
        after = since - dt.timedelta(seconds=1) if since else None
        out = {}
        for obj in get_objects(self.bucket, prefix=folder, since_last_modified=after, client=self.client):
            key = obj["Key"][len(root) :]
            modified = obj["LastModified"].astimezone(dt.UTC)
            if key.rsplit("/", 1)[-1].startswith(".") or key.endswith("/"):
                continue
            if since is None or modified >= since:
                out[key] = ObjectMeta(modified=modified, size=obj.get("Size") or 0)
        return out
