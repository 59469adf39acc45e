"""Transient faults heal through RetryPolicy (visible retry events); permanent ones fail once.

Faults are real network faults between the platform and real servers: an HTTP proxy that
answers 503 in front of the loopback S3 server, and a TCP proxy that drops connections in
front of the embedded PostgreSQL server.
"""

from __future__ import annotations

import datetime as dt
import glob
from urllib.parse import parse_qs, urlsplit

import dagster as dg
from dagster_aws.s3 import S3Resource

from platform_assets.resources.storage import StorageResource
from platform_assets.resources.warehouse import WarehouseResource
from platform_assets.sources.nycflights13 import publish_sample
from tests.faults import DroppingTcpProxy, FlakyHttpProxy


def _events(result, kind: str) -> list:
    return [e for e in result.all_events if e.event_type_value == kind]


def test_s3_503s_heal_after_a_step_retry(defs, s3_endpoint, s3_bucket, tmp_path):
    day = dt.date(2013, 1, 9)
    landing_direct = StorageResource(url=f"s3://{s3_bucket}/landing")
    publish_sample(landing_direct, day, day)
    # More 503s in a row than the S3 client's own retries absorb (5 attempts): the step fails
    # once, RetryPolicy retries it after a backoff, and the retry gets through.
    proxy = FlakyHttpProxy(s3_endpoint, match=f"/landing/flights/{day}.csv", failures=6)
    try:
        flaky = S3Resource(endpoint_url=proxy.url)
        result = dg.materialize(
            assets=defs.assets,
            selection="key:raw_flights",
            partition_key=str(day),
            resources={
                **defs.resources,
                "landing": StorageResource(url=f"s3://{s3_bucket}/landing", s3=flaky),
                "lake": StorageResource(url=str(tmp_path / "lake")),
            },
            instance=dg.DagsterInstance.ephemeral(),
        )
    finally:
        proxy.close()
    assert result.success
    assert proxy.failed == 6
    assert len(_events(result, "STEP_UP_FOR_RETRY")) >= 1
    assert len(_events(result, "STEP_RESTARTED")) >= 1


def test_a_dropped_warehouse_connection_heals_after_a_step_retry(defs, warehouse, tmp_path):
    host = parse_qs(urlsplit(warehouse.url).query)["host"][0]
    [unix_socket] = [p for p in glob.glob(f"{host}/.s.PGSQL.*") if not p.endswith(".lock")]
    proxy = DroppingTcpProxy(unix_socket, drops=1)
    try:
        through_proxy = WarehouseResource(url=f"postgresql://postgres@127.0.0.1:{proxy.port}/warehouse")
        result = dg.materialize(
            assets=defs.assets,
            selection="key:raw_airlines or key:clean_airlines",
            resources={**defs.resources, "warehouse": through_proxy},
            instance=dg.DagsterInstance.ephemeral(),
        )
    finally:
        proxy.close()
    assert result.success
    assert proxy.dropped == 1
    retried = _events(result, "STEP_UP_FOR_RETRY")
    assert [e.step_key for e in retried] == ["clean_airlines"]


def test_a_permanent_fault_fails_once_without_retries(defs, tmp_path):
    empty = StorageResource(url=str(tmp_path / "landing"))  # the day's drop never landed
    result = dg.materialize(
        assets=defs.assets,
        selection="key:raw_flights",
        partition_key="2013-03-05",
        resources={**defs.resources, "landing": empty, "lake": StorageResource(url=str(tmp_path / "lake"))},
        instance=dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
    )
    assert not result.success
    assert len(_events(result, "STEP_FAILURE")) == 1
    assert _events(result, "STEP_UP_FOR_RETRY") == []
