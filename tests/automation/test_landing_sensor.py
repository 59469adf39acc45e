"""The landing-zone sensor against a real landing zone: a local
folder and an S3 bucket on a loopback S3 server."""

from __future__ import annotations

import datetime as dt
import os
import time

import dagster as dg
import pytest

from platform_assets.automation.landing_sensor import consecutive_ranges, evaluate_landing_zone
from platform_assets.resources.storage import StorageResource
from platform_assets.sources.nycflights13 import publish_sample

REFERENCE = ("airlines", "airports", "planes")  # the sample's reference files
START, END = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"


@pytest.fixture(params=["local", "s3"])
def landing(request, tmp_path) -> StorageResource:
    if request.param == "local":
        return StorageResource(url=str(tmp_path / "landing"))
    return StorageResource(url=f"s3://{request.getfixturevalue('s3_bucket')}/landing")


def _ranges(result: dg.SensorResult) -> list[tuple[str, str]]:
    return [(r.tags[START], r.tags[END]) for r in result.run_requests]


def _redeliver(landing: StorageResource, key: str, data: bytes) -> None:
    """Deliver ``key`` again, visibly later than the first delivery."""
    if landing.is_s3:
        time.sleep(1.1)  # S3 modification times have one-second resolution
        landing.write_bytes(key, data)
    else:
        landing.write_bytes(key, data)
        path = os.path.join(landing.url, key)
        stamp = os.stat(path).st_mtime + 5
        os.utime(path, (stamp, stamp))


def test_consecutive_days_become_ranges():
    d = dt.date(2013, 1, 1)
    days = [d, d + dt.timedelta(1), d + dt.timedelta(2), d + dt.timedelta(5)]
    assert consecutive_ranges(days) == [(d, d + dt.timedelta(2)), (d + dt.timedelta(5), d + dt.timedelta(5))]
    assert len(consecutive_ranges([d + dt.timedelta(i) for i in range(365)], max_days=92)) == 4


def test_a_month_dropped_at_once_is_one_ranged_run_and_only_once(landing):
    publish_sample(landing, dt.date(2013, 3, 1), dt.date(2013, 3, 31))
    first = evaluate_landing_zone(landing, None)
    assert _ranges(first) == [("2013-03-01", "2013-03-31")]
    # new data goes ahead of backfills and manual runs (priority 0) in the run queue
    assert first.run_requests[0].tags["dagster/priority"] == "10"
    # every file is reported on its landing asset's partition, with its version, size and arrival
    reported = {(e.asset_key.to_user_string(), e.partition) for e in first.asset_events}
    days = {(f"landing/{s}", f"2013-03-{d:02d}") for s in ("flights", "weather") for d in range(1, 32)}
    assert reported == days | {(f"landing/{r}", None) for r in REFERENCE}
    event = next(e for e in first.asset_events if e.partition == "2013-03-05" and e.asset_key.path[1] == "flights")
    meta = landing.stat("flights/2013-03-05.csv")
    assert event.metadata["file"].value == "flights/2013-03-05.csv"
    assert event.metadata["size_bytes"].value == meta.size == len(landing.read_bytes("flights/2013-03-05.csv"))
    assert event.metadata["arrived_at"].value == meta.modified.timestamp()
    assert event.metadata["file_version"].value == f"flights/2013-03-05.csv@{meta.modified.isoformat()}#{meta.size}"
    again = evaluate_landing_zone(landing, first.cursor)
    assert again.run_requests == [] and "no new complete daily drops" in again.skip_reason.skip_message
    assert again.asset_events == []
    # a re-publish of identical files writes nothing, so nothing new either
    publish_sample(landing, dt.date(2013, 3, 1), dt.date(2013, 3, 31))
    assert evaluate_landing_zone(landing, again.cursor).run_requests == []


def test_a_redelivered_file_reruns_exactly_its_day(landing):
    publish_sample(landing, dt.date(2013, 3, 1), dt.date(2013, 3, 10))
    first = evaluate_landing_zone(landing, None)
    key = "flights/2013-03-04.csv"
    _redeliver(landing, key, landing.read_bytes(key).replace(b",JFK,", b",LGA,", 1))
    second = evaluate_landing_zone(landing, first.cursor)
    assert _ranges(second) == [("2013-03-04", "2013-03-04")]
    [event] = second.asset_events  # the re-delivery is a new materialization of exactly that partition
    assert (event.asset_key.to_user_string(), event.partition) == ("landing/flights", "2013-03-04")
    assert second.run_requests[0].run_key != first.run_requests[0].run_key
    # the same version evaluated from scratch gets the same run_key: Dagster starts it once
    assert (
        evaluate_landing_zone(landing, None).run_requests[0].run_key
        == evaluate_landing_zone(landing, None).run_requests[0].run_key
    )


def test_a_day_waits_for_both_drops_and_contract_breaks_are_reported(landing):
    publish_sample(landing, dt.date(2013, 4, 1), dt.date(2013, 4, 1))
    weather = landing.read_bytes("weather/2013-04-01.csv")
    landing.delete("weather/2013-04-01.csv")
    landing.write_bytes("flights/2013-04-31.csv", b"year\n")
    first = evaluate_landing_zone(landing, None)
    assert first.run_requests == []
    message = first.skip_reason.skip_message
    assert "waiting for the other half of 2013-04-01" in message
    # the drop that did arrive is reported now; the file breaking the contract is not
    assert [(e.asset_key.to_user_string(), e.partition) for e in first.asset_events] == [
        ("landing/flights", "2013-04-01"),
        *((f"landing/{r}", None) for r in REFERENCE),
    ]
    assert "flights/2013-04-31.csv ('2013-04-31' is not a calendar date)" in message
    _redeliver(landing, "weather/2013-04-01.csv", weather)
    assert _ranges(evaluate_landing_zone(landing, first.cursor)) == [("2013-04-01", "2013-04-01")]


def test_the_sensor_is_wired_to_the_main_job(landing):
    from platform_assets.definitions import defs

    publish_sample(landing, dt.date(2013, 5, 1), dt.date(2013, 5, 2))
    sensor = defs.get_sensor_def("landing_zone_sensor")
    with dg.build_sensor_context(resources={"landing": landing}, definitions=defs) as context:
        result = sensor.evaluate_tick(context)
    assert [r.tags[START] for r in result.run_requests] == ["2013-05-01"]
    assert sensor.job_name == "main_job"


def test_report_landing_records_each_file_version_once(landing):
    """``platform-assets report-landing``: the sensor's landing reports without the daemon."""
    from platform_assets.automation.landing_report import recorded_versions, report_landing

    instance = dg.DagsterInstance.ephemeral()
    publish_sample(landing, dt.date(2013, 6, 1), dt.date(2013, 6, 3))
    first = report_landing(instance, landing)
    assert len(first) == 2 * 3 + len(REFERENCE)
    assert sorted(recorded_versions(instance, "flights")) == ["2013-06-01", "2013-06-02", "2013-06-03"]
    assert list(recorded_versions(instance, "planes")) == [None]
    assert report_landing(instance, landing) == []  # nothing new: nothing recorded twice
    key = "weather/2013-06-02.csv"
    _redeliver(landing, key, landing.read_bytes(key) + b"")
    [again] = report_landing(instance, landing)
    assert (again.asset_key.to_user_string(), again.partition) == ("landing/weather", "2013-06-02")
    meta = landing.stat(key)
    assert recorded_versions(instance, "weather")["2013-06-02"] == f"{key}@{meta.modified.isoformat()}#{meta.size}"
