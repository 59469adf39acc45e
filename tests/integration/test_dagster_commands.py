"""Dagster's own commands in a clone with nothing exported.

In a copy of the project, ``platform-assets up`` (what ``make up`` / ``make install`` run)
starts the copy's embedded server and writes its ``.env``; Dagster's CLIs then find their home
(the project's ``dagster.yaml``), the instance database and the event-log settings from that
``.env`` alone. The copy's server is stopped at the end.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import psycopg
import pytest

from platform_assets.local_instance import EVENT_LOG_SETTINGS, LOCAL_PROCESS_SETTINGS
from platform_assets.resources.embedded_postgres import embedded_instance_url, stop_embedded_server
from tests.processes import stop_process_tree
from tests.project_copy import BIN, bare_env, copy_project, make_up

DEFS = "tests/integration/instance_defs.py"


@pytest.fixture(scope="module")
def clone(tmp_path_factory):
    """(project copy, a new user's environment there) after `make up`."""
    copy = copy_project(tmp_path_factory.mktemp("bare") / "project")
    env = bare_env(copy)
    (copy / ".env").write_text("MY_OWN_SETTING=kept\n")  # a user's own line, before `make up`
    make_up(copy, env)
    yield copy, env
    stop_embedded_server(copy / ".platform")


@pytest.fixture(scope="module")
def root(clone) -> Path:
    return clone[0]


@pytest.fixture(scope="module")
def bare(clone) -> dict[str, str]:
    return clone[1]


def _run(args: list[str], root: Path, env: dict[str, str], timeout: int = 300) -> subprocess.CompletedProcess:
    proc = subprocess.run(args, cwd=root, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{args}: {proc.stdout[-3000:]}{proc.stderr[-3000:]}"
    return proc


def test_up_writes_every_instance_variable_once_and_keeps_the_users_lines(root, bare):
    make_up(root, bare)  # idempotent
    lines = (root / ".env").read_text().splitlines()
    url = embedded_instance_url(root / ".platform")
    expected = {"DAGSTER_HOME": str(root), "DAGSTER_POSTGRES_URL": url, **EVENT_LOG_SETTINGS, **LOCAL_PROCESS_SETTINGS}
    # NAME=${NAME:-default}: an exported value wins over the file
    assert sorted(lines) == sorted(["MY_OWN_SETTING=kept", *(f"{k}=${{{k}:-{v}}}" for k, v in expected.items())])


def test_instance_info_works_with_nothing_exported(root, bare):
    proc = _run([str(BIN / "dagster"), "instance", "info"], root, bare)
    assert "run_storage: PostgresRunStorage" in proc.stdout  # dagster-postgres' own storages
    assert "event_log_storage: PostgresEventLogStorage" in proc.stdout
    assert "Traceback" not in proc.stdout + proc.stderr
    # every storage reports its schema: the embedded `dagster` database was created and migrated
    assert proc.stdout.count("current:") == 3


def test_asset_materialize_records_its_run_in_the_embedded_instance(root, bare):
    _run(
        [
            str(BIN / "dagster"),
            "asset",
            "materialize",
            "-f",
            DEFS,
            "--select",
            "*",
            "--partition-range",
            "2013-02-01...2013-02-03",
        ],
        root,
        bare,
    )
    url = embedded_instance_url(root / ".platform")
    with psycopg.connect(url.replace("postgresql+psycopg2://", "postgresql://")) as conn:
        statuses = conn.execute("select status from runs").fetchall()
        (run_id,) = conn.execute("select run_id from runs").fetchone()
        planned = conn.execute(
            "select count(*) from event_logs where run_id = %s "
            "and dagster_event_type = 'ASSET_MATERIALIZATION_PLANNED'",
            (run_id,),
        ).fetchone()[0]
    assert statuses == [("SUCCESS",)]
    # .env's DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS reached the CLI: one planned event
    # per asset carrying the 3-day range, not one per partition (2 x 3)
    assert planned == 2


def test_an_exported_url_wins_over_the_embedded_default(root, bare, warehouse):
    from urllib.parse import urlsplit, urlunsplit

    from platform_assets.resources.embedded_postgres import ensure_database

    parts = urlsplit(warehouse.url)
    ensure_database(urlunsplit(parts._replace(path="/postgres")), "dagster_exported")
    env = {
        **bare,
        "DAGSTER_POSTGRES_URL": urlunsplit(parts._replace(scheme="postgresql+psycopg2", path="/dagster_exported")),
    }
    _run(
        [str(BIN / "dagster"), "asset", "materialize", "-f", DEFS, "--select", "*", "--partition", "2013-02-05"],
        root,
        env,
    )
    with psycopg.connect(urlunsplit(parts._replace(path="/dagster_exported"))) as conn:
        assert conn.execute("select count(*) from runs").fetchone()[0] == 1


def test_definitions_validate_and_dg_check_defs(root, bare):
    _run([str(BIN / "dagster"), "definitions", "validate", "-m", "platform_assets.definitions"], root, bare)
    proc = _run([str(BIN / "dg"), "check", "defs"], root, {**bare, "PATH": "/usr/bin:/bin"})
    assert "All definitions loaded successfully." in proc.stdout + proc.stderr


def test_dg_list_defs_shows_every_asset_and_check_of_the_python_definitions(root, bare):
    from platform_assets.definitions import defs

    proc = _run([str(BIN / "dg"), "list", "defs", "--json"], root, {**bare, "PATH": "/usr/bin:/bin"})
    listed = json.loads(proc.stdout[proc.stdout.index("{") :])
    assets = {tuple(a["asset_key_parts"]): a for a in listed["assets"]}
    graph = defs.resolve_asset_graph()
    assert set(assets) == {tuple(k.path) for k in graph.get_all_asset_keys()}
    checks = {(c["asset_key"], c["name"]) for c in listed["asset_checks"]}
    assert checks == {(k.asset_key.to_user_string(), k.name) for k in graph.asset_check_keys}
    # nothing lost on the way: descriptions, owners and kinds as the definitions have them
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        row = assets[tuple(key.path)]
        assert row["description"] == node.description
        assert set(row["kinds"]) == set(node.kinds)
        # dg prints a team owner as {"team": name}, an email as {"email": address}
        listed_owners = [f"team:{o['team']}" if "team" in o else o["email"] for o in row["owners"]]
        assert listed_owners == list(node.owners)


def test_dg_launch_runs_a_partition_range_as_one_run(root, bare):
    env = {**bare, "PATH": "/usr/bin:/bin"}
    _run([str(BIN / "platform-assets"), "publish-sample", "--start", "2013-04-01", "--end", "2013-04-02"], root, env)
    proc = _run(
        [str(BIN / "dg"), "launch", "--assets", "*", "--partition-range", "2013-04-01...2013-04-02"], root, env, 600
    )
    assert (proc.stdout + proc.stderr).count("RUN_SUCCESS") == 1
    home = root
    url = embedded_instance_url(home / ".platform").replace("postgresql+psycopg2://", "postgresql://")
    with psycopg.connect(url.replace("/dagster?", "/warehouse?")) as conn:
        flights = conn.execute("select count(*) from analytics.fct_flights").fetchone()[0]
    published = sum(len(p.read_text().splitlines()) - 1 for p in (home / "data/landing/flights").glob("*.csv"))
    assert flights == published > 0


@pytest.mark.parametrize("command", [["dg", "dev"], ["dagster", "dev", "-w", "workspace.yaml"]])
def test_dev_serves_the_ui_on_loopback_with_nothing_exported(root, bare, tmp_path, command):
    """`dg dev` / `dagster dev` start the webserver and daemon on the project's instance; stopped after."""
    import socket
    import time
    import urllib.request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = tmp_path / "dev.log"
    args = [str(BIN / command[0]), *command[1:], "-h", "127.0.0.1", "-p", str(port)]
    with open(log, "wb") as sink:
        # Own process group: the webserver, daemon and code servers it spawns stop with it.
        proc = subprocess.Popen(
            args,
            cwd=root,
            env={**bare, "PATH": "/usr/bin:/bin"},
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 180
        info = None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=5) as response:
                    info = json.loads(response.read())
                break
            except OSError:
                time.sleep(1)
        assert info is not None, log.read_text()[-3000:]
        query = json.dumps({"query": "{ repositoriesOrError { ... on RepositoryConnection { nodes { name } } } }"})
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/graphql", data=query.encode(), headers={"Content-Type": "application/json"}
        )
        deadline = time.monotonic() + 120
        while True:  # the code location loads in the background
            with urllib.request.urlopen(request, timeout=30) as response:
                nodes = json.loads(response.read())["data"]["repositoriesOrError"].get("nodes", [])
            if nodes or time.monotonic() > deadline:
                break
            time.sleep(1)
        assert nodes == [{"name": "__repository__"}], log.read_text()[-3000:]
    finally:
        # the webserver, daemon, code servers and run workers it spawned: none may outlive the test
        assert stop_process_tree(proc) == []
