"""The Docker stack of docker-compose.yml, driven by the container tests.

Helpers shared by the container test modules: Docker and compose commands, the stack's
start (drops published into its data volume, ``up``, the webserver answering) and teardown
(every container and volume removed, asserted), and the Dagster GraphQL calls the tests make
(``dagster-graphql``'s client).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
from dagster_graphql import DagsterGraphQLClient

from platform_assets.sources.nycflights13 import sample_data_dir

ROOT = Path(__file__).resolve().parents[2]
PG_PORT = 55432
UI_PORT = 3300
WAREHOUSE = f"postgresql://platform:platform@127.0.0.1:{PG_PORT}/platform"


def docker(*args: str, check: bool = True, timeout: int = 300) -> str:
    proc = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"docker {' '.join(args)}: {proc.stderr[-2000:]}")
    return proc.stdout


def compose_cmd() -> list[str]:
    for candidate in (["docker", "compose"], ["docker-compose"]):
        if subprocess.run([*candidate, "version"], capture_output=True).returncode == 0:
            return candidate
    raise AssertionError("neither `docker compose` nor `docker-compose` is installed")


def remove_run_containers() -> None:
    ids = docker("ps", "-aq", "--filter", "label=platform-assets.role=run").split()
    if ids:
        docker("rm", "-f", *ids)


def expected_flights(first: dt.date, last: dt.date) -> int:
    import zipfile

    import polars as pl

    with zipfile.ZipFile(sample_data_dir() / "flights.csv.zip") as archive:
        flights = pl.read_csv(archive.read("flights.csv"), columns=["year", "month", "day"])
    days = flights.select(pl.date("year", "month", "day").alias("d"))
    return days.filter(pl.col("d").is_between(first, last)).height


def launch(client: DagsterGraphQLClient, first: dt.date, last: dt.date) -> str:
    return client.submit_job_execution(
        "main_job",
        tags={
            "dagster/asset_partition_range_start": first.isoformat(),
            "dagster/asset_partition_range_end": last.isoformat(),
            "platform/test": "container",
        },
    )


def run_of(client: DagsterGraphQLClient, run_id: str) -> dict:
    data = client._execute(
        """query($id: ID!) { runOrError(runId: $id) { ... on Run {
             runId status creationTime startTime endTime tags { key value } } } }""",
        {"id": run_id},
    )["runOrError"]
    data["tags"] = {t["key"]: t["value"] for t in data["tags"]}
    return data


def wait(client, run_id: str, statuses: set[str], timeout: float = 600) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        run = run_of(client, run_id)
        if run["status"] in statuses:
            return run
        assert run["status"] not in {"SUCCESS", "FAILURE", "CANCELED"} - statuses, run
        assert time.monotonic() < deadline, f"{run_id} still {run['status']}"
        time.sleep(1)


def container_of(run: dict) -> dict:
    container_id = run["tags"]["docker/container_id"]
    return json.loads(docker("inspect", container_id))[0]


def warehouse_window(first: dt.date, last: dt.date) -> tuple[int, int]:
    with psycopg.connect(WAREHOUSE) as conn:
        return conn.execute(
            "select count(*), count(distinct flight_id) from analytics.fct_flights where flight_date between %s and %s",
            (first, last),
        ).fetchone()


def run_events(client: DagsterGraphQLClient, run_id: str) -> list[dict]:
    """The run's events in order: GraphQL type, message, step key and timestamp."""
    return client._execute(
        """query($id: ID!) { logsForRun(runId: $id) { ... on EventConnection { events {
             __typename ... on MessageEvent { message timestamp stepKey } ... on LogsCapturedEvent { fileKey }
           } } } }""",
        {"id": run_id},
    )["logsForRun"]["events"]


def compose(project: str) -> tuple[list[str], dict[str, str]]:
    """The compose command for the test stack ``project`` and the environment its file is read with."""
    env = {
        **os.environ,
        "DOCKER_GID": str(os.stat("/var/run/docker.sock").st_gid),
        "PLATFORM_PG_PORT": str(PG_PORT),
        "PLATFORM_UI_PORT": str(UI_PORT),
    }
    return [*compose_cmd(), "-p", project, "-f", str(ROOT / "docker-compose.yml")], env


@contextlib.contextmanager
def running_stack(
    project: str, drops: tuple[dt.date, dt.date], env: dict[str, str] | None = None, up: tuple[str, ...] = ("up", "-d")
) -> Iterator[DagsterGraphQLClient]:
    """The stack ``project`` up, with the sample drops of ``drops`` (first, last) in its data
    volume; yields a GraphQL client of its webserver once ``main_job`` is loaded.

    ``env`` is added to the environment compose reads the file with; ``up`` is the compose
    command that starts it (e.g. with ``--profile celery`` in front). On exit the stack's logs
    go to ``build/<project>.log``, and its containers, run containers and volumes are removed
    and asserted gone.
    """
    assert subprocess.run(["docker", "info"], capture_output=True).returncode == 0, (
        "no Docker engine: `make container-test` needs dockerd running (.ci/run installs and starts it)"
    )
    command, compose_env = compose(project)
    compose_env.update(env or {})
    remove_run_containers()
    subprocess.run([*command, "down", "-v"], env=compose_env, capture_output=True)
    # The drops, published into the stack's data volume by the image itself.
    docker("volume", "create", "platform-data")
    docker(
        "run", "--rm", "--network", "none", "-v", "platform-data:/data", "-e", "PLATFORM_LANDING_URL=/data/landing",
        "platform-assets:latest", "platform-assets", "publish-sample",
        "--start", drops[0].isoformat(), "--end", drops[1].isoformat(),
    )  # fmt: skip
    try:
        subprocess.run([*command, *up], env=compose_env, check=True, capture_output=True)
        client = DagsterGraphQLClient("127.0.0.1", port_number=UI_PORT)
        deadline = time.monotonic() + 240
        while True:
            try:
                client._execute("{ repositoriesOrError { ... on RepositoryConnection { nodes { name } } } }")
                if client._get_repo_locations_and_names_with_pipeline("main_job"):
                    break
            except Exception:  # the webserver or the code location is still starting
                pass
            assert time.monotonic() < deadline, subprocess.run(
                [*command, "logs", "--tail=50"], env=compose_env, capture_output=True, text=True
            ).stdout[-5000:]
            time.sleep(2)
        yield client
    finally:
        logs = subprocess.run([*command, "logs", "--tail=200"], env=compose_env, capture_output=True, text=True)
        (ROOT / "build").mkdir(exist_ok=True)
        (ROOT / "build" / f"{project}.log").write_text(logs.stdout)
        remove_run_containers()  # they hold the data volume
        # every service, of any profile (`down` leaves those of profiles it is not given)
        down = subprocess.run(
            [*command, *up[: up.index("up")], "down", "-v"], env=compose_env, capture_output=True, text=True
        )
        assert down.returncode == 0, down.stderr[-2000:]
        assert docker("ps", "-aq", "--filter", f"label=com.docker.compose.project={project}").split() == []
        assert docker("ps", "-aq", "--filter", "label=platform-assets.role=run").split() == []
