"""The storage resource behaves the same on a local folder and on S3 (a real HTTP server on loopback)."""

from __future__ import annotations

import datetime as dt
import time

import polars as pl
import pytest

from platform_assets.resources.storage import StorageResource


@pytest.fixture(params=["local", "s3"])
def storage(request, tmp_path) -> StorageResource:
    if request.param == "local":
        return StorageResource(url=str(tmp_path / "root"))
    bucket = request.getfixturevalue("s3_bucket")
    return StorageResource(url=f"s3://{bucket}/landing")


def test_write_read_list_delete(storage):
    assert not storage.exists("flights/2013-01-01.csv")
    with pytest.raises(FileNotFoundError, match="2013-01-01.csv"):
        storage.read_bytes("flights/2013-01-01.csv")
    storage.write_bytes("flights/2013-01-01.csv", b"year\n2013\n")
    storage.write_bytes("reference/planes.csv", b"tailnum\n")
    storage.write_bytes("flights/.2013-01-02.csv.tmp", b"partial")  # hidden: never listed
    assert storage.exists("flights/2013-01-01.csv")
    assert storage.read_bytes("flights/2013-01-01.csv") == b"year\n2013\n"
    assert storage.list_keys() == ["flights/2013-01-01.csv", "reference/planes.csv"]
    assert storage.list_keys("flights") == ["flights/2013-01-01.csv"]
    meta = storage.stat("flights/2013-01-01.csv")
    assert meta.size == 10 and abs(meta.modified - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=1)
    storage.delete("flights/2013-01-01.csv")
    storage.delete("flights/2013-01-01.csv")  # already gone: no error
    assert storage.list_keys("flights") == []


def test_listing_since_a_time_keeps_objects_at_exactly_that_time(storage):
    storage.write_bytes("flights/2013-01-01.csv", b"a")
    first = storage.stat("flights/2013-01-01.csv").modified
    time.sleep(1.1)  # S3 timestamps have one-second resolution
    storage.write_bytes("flights/2013-01-02.csv", b"b")
    assert set(storage.list_with_metadata(since=first)) == {"flights/2013-01-01.csv", "flights/2013-01-02.csv"}
    later = storage.stat("flights/2013-01-02.csv").modified
    assert set(storage.list_with_metadata(since=later)) == {"flights/2013-01-02.csv"}


def test_parquet_round_trip_and_row_count(storage):
    frame = pl.DataFrame({"day": [dt.date(2013, 1, 1)] * 3, "n": [1, 2, 3]})
    storage.write_parquet("raw/flights/2013-01-01.parquet", frame)
    storage.write_parquet("raw/flights/2013-01-02.parquet", frame.head(2))
    keys = ["raw/flights/2013-01-01.parquet", "raw/flights/2013-01-02.parquet"]
    assert storage.read_parquet(keys).equals(pl.concat([frame, frame.head(2)]))
    assert storage.parquet_row_count(keys) == 5


def test_uri_names_the_full_location(storage):
    uri = storage.uri("flights/2013-01-01.csv")
    assert uri.endswith("flights/2013-01-01.csv")
    assert uri.startswith("s3://") == storage.url.startswith("s3://")
