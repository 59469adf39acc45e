"""End to end, as deployed: the Dagster webserver and daemon on loopback, with the project's
top-level ``dagster.yaml`` (run, event-log and schedule storage in PostgreSQL, queued run
coordinator), against their own embedded PostgreSQL server.

1. A day's files are dropped into the landing zone; the landing-zone sensor (turned on with
   ``dagster sensor start``) starts a run that materializes the day through the marts.
2. A partition backfill is launched through Dagster's GraphQL API and runs as one ranged run.
3. A ranged run terminated through the GraphQL API (the UI's *Terminate*) stops in the step
   it was in: the run worker reports it cancelled, and the step is not retried.
4. While a long manual range runs and another waits in the queue, a day lands: the sensor's
   run (``dagster/priority`` 10) is dequeued before the waiting range and finishes first.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from platform_assets.local_instance import EVENT_LOG_SETTINGS
from platform_assets.resources.embedded_postgres import (
    embedded_warehouse_url,
    ensure_database,
    stop_embedded_server,
)
from platform_assets.resources.storage import StorageResource
from platform_assets.sources.nycflights13 import publish_sample
from tests import webserver
from tests.processes import stop_process_tree

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
RUN_TIMEOUT_S = 600


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait(what: str, condition, timeout: float, every: float = 2.0, logs: list[Path] = ()):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    tails = "\n".join(f"--- {p.name} ---\n" + "\n".join(p.read_text(errors="replace").splitlines()[-40:]) for p in logs)
    pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}\n{tails}")


@pytest.fixture(scope="module")
def deployment(tmp_path_factory):
    """Webserver + daemon with the repo's dagster.yaml; yields a small helper namespace."""
    base = tmp_path_factory.mktemp("e2e")
    warehouse_url = embedded_warehouse_url(base / "pg")
    admin = urlsplit(warehouse_url)._replace(path="/postgres")
    ensure_database(urlunsplit(admin), "dagster")
    instance_url = urlunsplit(admin._replace(scheme="postgresql+psycopg2", path="/dagster"))
    home = base / "dagster_home"
    home.mkdir()
    shutil.copy(ROOT / "dagster.yaml", home / "dagster.yaml")
    landing = StorageResource(url=str(base / "landing"))
    port = _free_port()
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "DAGSTER_POSTGRES_URL": instance_url,
        **EVENT_LOG_SETTINGS,  # as a deployment's environment has them
        "PLATFORM_WAREHOUSE_URL": warehouse_url,
        "PLATFORM_LANDING_URL": landing.url,
        "PLATFORM_LAKE_URL": str(base / "lake"),
        "PLATFORM_UI_URL": f"http://127.0.0.1:{port}",
    }
    logs = {name: base / f"{name}.log" for name in ("webserver", "daemon")}
    procs = [
        # Own process groups: the code servers and run workers they spawn are stopped with them.
        subprocess.Popen(
            [str(BIN / "dagster-webserver"), "-h", "127.0.0.1", "-p", str(port), "-w", "workspace.yaml"],
            cwd=ROOT,
            env=env,
            stdout=open(logs["webserver"], "wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        ),
        subprocess.Popen(
            [str(BIN / "dagster-daemon"), "run", "-w", "workspace.yaml"],
            cwd=ROOT,
            env=env,
            stdout=open(logs["daemon"], "wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        ),
    ]

    base_url = f"http://127.0.0.1:{port}"

    def graphql(query: str, variables: dict | None = None) -> dict:
        return webserver.graphql(base_url, query, variables)

    def server_up():
        return webserver.serving(base_url)

    class Deployment:
        pass

    d = Deployment()
    d.env, d.landing, d.warehouse_url, d.graphql, d.logs = env, landing, warehouse_url, graphql, list(logs.values())
    try:
        _wait("the webserver", server_up, 120, logs=d.logs)
        yield d
    finally:
        # the webserver's and daemon's code servers (`dagster api grpc`) and run workers go with them
        survivors = [cmd for proc in procs for cmd in stop_process_tree(proc)]
        stop_embedded_server(base / "pg")
        assert survivors == []


RUNS_QUERY = """
query Runs($filter: RunsFilter) {
  runsOrError(filter: $filter) { __typename ... on Runs { results { runId status tags { key value } } } }
}
"""


def _runs(d, tags: dict[str, str]) -> list[dict]:
    data = d.graphql(RUNS_QUERY, {"filter": {"tags": [{"key": k, "value": v} for k, v in tags.items()]}})
    return data["runsOrError"]["results"]


def _fct_rows(d, first: dt.date, last: dt.date) -> int:
    with psycopg.connect(d.warehouse_url) as conn:
        if conn.execute("select to_regclass('analytics.fct_flights')").fetchone()[0] is None:
            return 0
        return conn.execute(
            "select count(*) from analytics.fct_flights where flight_date between %s and %s", (first, last)
        ).fetchone()[0]


def _source_rows(d, first: dt.date, last: dt.date) -> int:
    days = [first + dt.timedelta(i) for i in range((last - first).days + 1)]
    return sum(d.landing.read_bytes(f"flights/{day}.csv").decode().count("\n") - 1 for day in days)


SENSOR_TICKS = """
query Ticks($selector: SensorSelector!) {
  sensorOrError(sensorSelector: $selector) {
    __typename ... on Sensor { sensorState { ticks(limit: 20) { timestamp status runIds skipReason } } }
  }
}
"""
LANDING_SENSOR = {
    "repositoryLocationName": "platform_assets",
    "repositoryName": "__repository__",
    "sensorName": "landing_zone_sensor",
}


def _finished_tick_after(d, since: float) -> dict | None:
    """The landing sensor's earliest evaluation that started after ``since`` (epoch s) and has ended, or None."""
    sensor = d.graphql(SENSOR_TICKS, {"selector": LANDING_SENSOR})["sensorOrError"]
    assert sensor["__typename"] == "Sensor", sensor
    ended = [t for t in sensor["sensorState"]["ticks"] if t["timestamp"] > since and t["status"] != "STARTED"]
    return min(ended, key=lambda t: t["timestamp"]) if ended else None


def test_a_dropped_day_is_picked_up_by_the_sensor_and_reaches_the_marts(deployment):
    d = deployment
    _sensor(d, "start")
    day = dt.date(2013, 1, 7)
    publish_sample(d.landing, day, day)

    def sensor_run():
        runs = _runs(d, {"platform/trigger": "landing_zone_sensor"})
        return runs if runs and all(r["status"] in ("SUCCESS", "FAILURE", "CANCELED") for r in runs) else None

    runs = _wait("the sensor's run to finish", sensor_run, RUN_TIMEOUT_S, logs=d.logs)
    assert [r["status"] for r in runs] == ["SUCCESS"]
    tags = {t["key"]: t["value"] for t in runs[0]["tags"]}
    assert tags["dagster/asset_partition_range_start"] == tags["dagster/asset_partition_range_end"] == str(day)
    assert _fct_rows(d, day, day) == _source_rows(d, day, day) > 0
    # dropping the same files again starts nothing: the first evaluation that began after
    # the drop (and so listed the files) requested no run
    dropped_at = time.time()
    publish_sample(d.landing, day, day)
    tick = _wait(
        "a sensor evaluation after the second drop",
        lambda: _finished_tick_after(d, dropped_at),
        120,
        every=1,
        logs=d.logs,
    )
    assert tick["runIds"] == [], tick
    assert len(_runs(d, {"platform/trigger": "landing_zone_sensor"})) == 1
    # the daemon stored the sensor's report of each drop on its landing asset, once
    for source in ("flights", "weather"):
        data = d.graphql(LANDING_EVENTS, {"key": {"path": ["landing", source]}, "partitions": [str(day)]})
        [arrival] = data["assetOrError"]["assetMaterializations"]
        entries = {e["label"]: e.get("text", e.get("intValue")) for e in arrival["metadataEntries"]}
        key = f"{source}/{day}.csv"
        assert (arrival["partition"], entries["file"]) == (str(day), key)
        assert entries["size_bytes"] == len(d.landing.read_bytes(key))


LANDING_EVENTS = """
query Arrivals($key: AssetKeyInput!, $partitions: [String!]) {
  assetOrError(assetKey: $key) {
    ... on Asset {
      assetMaterializations(partitions: $partitions) {
        partition
        metadataEntries { label ... on TextMetadataEntry { text } ... on IntMetadataEntry { intValue } }
      }
    }
  }
}
"""


LAUNCH_BACKFILL = """
mutation Launch($params: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $params) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on PythonError { message }
    ... on InvalidStepError { invalidStepKey }
    ... on InvalidOutputError { stepKey }
    ... on UnauthorizedError { message }
  }
}
"""
STEP_STATS = """
query Steps($id: ID!) { runOrError(runId: $id) { __typename ... on Run { stepStats { stepKey status } } } }
"""
BACKFILL_STATUS = """
query Backfill($id: String!) {
  partitionBackfillOrError(backfillId: $id) { __typename ... on PartitionBackfill { id status } ... on PythonError { message } }
}
"""


def test_a_partition_backfill_launched_through_graphql_runs_as_one_ranged_run(deployment):
    d = deployment
    first, last = dt.date(2013, 1, 10), dt.date(2013, 1, 12)
    publish_sample(d.landing, first, last)  # the sensor may also pick these up; the backfill is what we watch
    from platform_assets.definitions import defs

    graph = defs.resolve_asset_graph()
    # every partitioned asset the platform materializes (the landing assets are external)
    partitioned = sorted(k.to_user_string() for k in graph.materializable_asset_keys if graph.get(k).partitions_def)
    params = {
        "partitionNames": [str(first + dt.timedelta(i)) for i in range((last - first).days + 1)],
        "assetSelection": [{"path": [key]} for key in partitioned],
        "fromFailure": False,
    }
    launched = d.graphql(LAUNCH_BACKFILL, {"params": params})["launchPartitionBackfill"]
    assert launched["__typename"] == "LaunchBackfillSuccess", launched
    backfill_id = launched["backfillId"]

    def finished():
        status = d.graphql(BACKFILL_STATUS, {"id": backfill_id})["partitionBackfillOrError"]["status"]
        return status if status not in ("REQUESTED", "CANCELING", "FAILING") else None

    status = _wait(f"backfill {backfill_id}", finished, RUN_TIMEOUT_S, every=3, logs=d.logs)
    runs = _runs(d, {"dagster/backfill": backfill_id})
    assert status in ("COMPLETED", "COMPLETED_SUCCESS"), (status, runs)
    assert [r["status"] for r in runs] == ["SUCCESS"]  # single-run backfill policy: one run for the range
    steps = d.graphql(STEP_STATS, {"id": runs[0]["runId"]})["runOrError"]["stepStats"]
    assert _fct_rows(d, first, last) == _source_rows(d, first, last), [s["stepKey"] for s in steps]


LAUNCH_RUN = """
mutation Launch($params: ExecutionParams!) {
  launchRun(executionParams: $params) {
    __typename ... on LaunchRunSuccess { run { runId } } ... on PythonError { message }
  }
}
"""
TERMINATE_RUN = """
mutation Terminate($id: String!) {
  terminateRun(runId: $id) {
    __typename ... on TerminateRunFailure { message } ... on PythonError { message }
  }
}
"""
RUN_EVENTS = """
query Events($id: ID!, $after: String) {
  runOrError(runId: $id) { __typename ... on Run { status startTime endTime } }
  logsForRun(runId: $id, afterCursor: $after) { __typename ... on EventConnection { cursor hasMore events {
    __typename ... on MessageEvent { message stepKey } } } }
}
"""


def test_a_terminated_run_stops_in_its_step_and_is_reported_cancelled(deployment):
    d = deployment
    # The sensor stays out of it: the month's drops are for this run only.
    _sensor(d, "stop")
    first, last = dt.date(2013, 2, 1), dt.date(2013, 2, 28)
    publish_sample(d.landing, first, last)
    run_id = _launch_range(d, first, last)

    def events():  # every page: the webserver returns at most 1,000 events a query
        data = d.graphql(RUN_EVENTS, {"id": run_id})
        page = data["logsForRun"]
        while page["hasMore"]:
            page = d.graphql(RUN_EVENTS, {"id": run_id, "after": page["cursor"]})["logsForRun"]
            data["logsForRun"]["events"] += page["events"]
        return data

    def working():  # the month's raw step has started: the rest of the run is ahead of it
        data = events()
        assert data["runOrError"]["status"] not in ("SUCCESS", "FAILURE", "CANCELED"), data["runOrError"]
        return any(
            e["__typename"] == "ExecutionStepStartEvent" and e["stepKey"] == "raw_flights"
            for e in data["logsForRun"]["events"]
        )

    _wait("the run to start raw_flights", working, RUN_TIMEOUT_S, every=0.5, logs=d.logs)
    asked = time.time()
    terminated = d.graphql(TERMINATE_RUN, {"id": run_id})["terminateRun"]
    assert terminated["__typename"] == "TerminateRunSuccess", terminated

    def ended():
        data = events()
        return data if data["runOrError"]["status"] in ("SUCCESS", "FAILURE", "CANCELED") else None

    _wait("the terminated run to end", ended, 120, every=1, logs=d.logs)

    def end_event_stored():  # the run's status can change before its batched end event is readable
        data = events()
        ends = ("RunCanceledEvent", "RunFailureEvent", "RunSuccessEvent")
        return data if any(e["__typename"] in ends for e in data["logsForRun"]["events"]) else None

    data = _wait("the run's end event", end_event_stored, 30, every=0.5, logs=d.logs)
    run, log = data["runOrError"], data["logsForRun"]["events"]
    assert run["status"] == "CANCELED", [e.get("message") for e in log[-10:]]
    # reported by the run worker itself, not by run monitoring's cancel timeout (180 s here)
    assert [e["message"] for e in log if e["__typename"] == "RunCanceledEvent"] == [
        'Execution of run for "main_job" canceled.'
    ], [(e["__typename"], e.get("message")) for e in log[-6:]]
    assert not [e for e in log if e["__typename"] == "ExecutionStepRestartEvent"]
    assert run["endTime"] - asked < 30


RUN_TIMES = """
query Run($id: ID!) {
  runOrError(runId: $id) { __typename ... on Run { status creationTime startTime endTime tags { key value } } }
}
"""


def _launch_range(d, first: dt.date, last: dt.date, assets: list[str] | None = None) -> str:
    """A manual ranged run of main_job (no priority tag: priority 0, like a backfill), of
    ``assets`` only if given; its id."""
    selector = {"repositoryLocationName": "platform_assets", "repositoryName": "__repository__", "jobName": "main_job"}
    if assets:
        selector["assetSelection"] = [{"path": [a]} for a in assets]
    params = {
        "selector": selector,
        "executionMetadata": {
            "tags": [
                {"key": "dagster/asset_partition_range_start", "value": str(first)},
                {"key": "dagster/asset_partition_range_end", "value": str(last)},
            ]
        },
    }
    launched = d.graphql(LAUNCH_RUN, {"params": params})["launchRun"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    return launched["run"]["runId"]


def test_a_newly_landed_day_runs_before_a_queued_backfill(deployment):
    d = deployment

    def age_landing_zone() -> None:  # every file older than anything the sensor has seen
        long_ago = time.time() - 2 * 86400
        for path in Path(d.landing.url).rglob("*.csv*"):
            os.utime(path, (long_ago, long_ago))

    def sensor_runs_for(day: dt.date) -> list[dict]:
        start = {"key": "dagster/asset_partition_range_start", "value": str(day)}
        return [r for r in _runs(d, {"platform/trigger": "landing_zone_sensor"}) if start in r["tags"]]

    # The sensor gets a cursor (a warm-up day it runs), whatever earlier tests left.
    _sensor(d, "stop")
    age_landing_zone()
    warm_up = dt.date(2013, 1, 25)
    publish_sample(d.landing, warm_up, warm_up)
    _sensor(d, "start")
    _wait(
        "the warm-up day's run",
        lambda: [r for r in sensor_runs_for(warm_up) if r["status"] in ("SUCCESS", "FAILURE", "CANCELED")],
        RUN_TIMEOUT_S,
        logs=d.logs,
    )
    # Two manual ranges (priority 0), their drops older than the sensor's cursor, so the
    # sensor leaves them alone.
    _sensor(d, "stop")
    first_range, second_range = (dt.date(2013, 3, 1), dt.date(2013, 8, 31)), (dt.date(2013, 9, 1), dt.date(2013, 9, 30))
    publish_sample(d.landing, first_range[0], second_range[1])
    age_landing_zone()
    started = time.time()
    _sensor(d, "start")
    tick = _wait("the sensor's first evaluation", lambda: _finished_tick_after(d, started), 120, every=1, logs=d.logs)
    assert tick["runIds"] == [], tick  # old drops are not new data
    running = _launch_range(d, *first_range)
    queued = _launch_range(d, *second_range)

    def status(run_id: str) -> dict:
        return d.graphql(RUN_TIMES, {"id": run_id})["runOrError"]

    _wait("the first range to start", lambda: status(running)["status"] == "STARTED", RUN_TIMEOUT_S, every=0.5)
    assert status(queued)["status"] == "QUEUED"  # one warehouse-writing run at a time
    day = dt.date(2013, 1, 21)
    publish_sample(d.landing, day, day)  # a new day lands while one range runs and one waits

    def new_day_run():
        runs = sensor_runs_for(day)
        return runs[0]["runId"] if runs else None

    landed = _wait("the sensor's run for the new day", new_day_run, 120, every=0.5, logs=d.logs)
    assert status(running)["status"] == "STARTED", "the first range ended before the new day was queued"
    done = ("SUCCESS", "FAILURE", "CANCELED")
    _wait(
        "every run to finish",
        lambda: all(status(r)["status"] in done for r in (running, queued, landed)),
        3 * RUN_TIMEOUT_S,
        every=3,
        logs=d.logs,
    )
    first, second, new = status(running), status(queued), status(landed)
    assert [first["status"], second["status"], new["status"]] == ["SUCCESS"] * 3
    assert {"key": "dagster/priority", "value": "10"} in new["tags"]
    # queued after the second range, the new day was dequeued before it and finished before it started
    assert second["creationTime"] < new["creationTime"], (second, new)
    assert first["endTime"] <= new["startTime"] < new["endTime"] <= second["startTime"], (first, new, second)
    _sensor(d, "stop")


def test_runs_over_overlapping_windows_never_interleave_but_a_non_writer_runs_beside(deployment):
    """Two runs may be in progress (dagster.yaml), but at most one that writes the warehouse
    (the `warehouse` pool, run granularity): a range overlapping a running one waits for it,
    a run that only parses landing files into the lake starts at once."""
    d = deployment
    _sensor(d, "stop")  # only the runs this test launches
    publish_sample(d.landing, dt.date(2013, 10, 1), dt.date(2013, 10, 31))
    writer = _launch_range(d, dt.date(2013, 10, 1), dt.date(2013, 10, 20))

    def status(run_id: str) -> dict:
        return d.graphql(RUN_TIMES, {"id": run_id})["runOrError"]

    _wait("the first range to start", lambda: status(writer)["status"] == "STARTED", RUN_TIMEOUT_S, every=0.5)
    overlapping = _launch_range(d, dt.date(2013, 10, 10), dt.date(2013, 10, 31))
    lake_only = _launch_range(d, dt.date(2013, 10, 21), dt.date(2013, 10, 31), assets=["raw_flights", "raw_weather"])
    done = ("SUCCESS", "FAILURE", "CANCELED")
    _wait(
        "every run to finish",
        lambda: all(status(r)["status"] in done for r in (writer, overlapping, lake_only)),
        3 * RUN_TIMEOUT_S,
        every=2,
        logs=d.logs,
    )
    first, second, beside = status(writer), status(overlapping), status(lake_only)
    assert [first["status"], second["status"], beside["status"]] == ["SUCCESS"] * 3
    # the overlapping range started only once the first had ended; the lake-only run did not wait
    assert first["endTime"] <= second["startTime"], (first, second)
    assert beside["startTime"] < first["endTime"], (first, beside)
    # and the warehouse holds each flight of the month once
    month = (dt.date(2013, 10, 1), dt.date(2013, 10, 31))
    assert _fct_rows(d, *month) == _source_rows(d, *month) > 0


def _sensor(d, action: str) -> None:
    subprocess.run(
        [str(BIN / "dagster"), "sensor", action, "landing_zone_sensor", "-w", "workspace.yaml"],
        cwd=ROOT,
        env=d.env,
        check=True,
        capture_output=True,
    )
