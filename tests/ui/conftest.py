"""Fixtures for the UI tests: a materialized month behind `dagster dev`, and a real browser.

Everything lives in one temp dir: the embedded PostgreSQL (warehouse and Dagster's
instance database), the landing zone with January 2013 of the sample, the lake and a
``DAGSTER_HOME`` holding a copy of the project's ``dagster.yaml``. The month is
materialized before the UI starts, as one ranged run (``dagster asset materialize
--partition-range``), so the developer's ``.platform/`` is never touched.

The browser is Debian's Chromium (package ``chromium``) driven by Playwright for Python;
Playwright's own browser download is never used (``executable_path``). ``UI_CHROMIUM``
points at another executable.

Every process started here carries a tag in its environment (``UI_TEST_TAG``): the
embedded server, the CLI run, `dagster dev` and everything it spawns (webserver, daemon,
code server, ``dagster api grpc``, run workers), Playwright's driver and Chromium. At the
end, after `dagster dev`'s process group is killed and the server stopped, the session
asserts that no process with the tag is left.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

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

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
MONTH = ("2013-01-01", "2013-01-31")
#: Where the screenshots for docs/ and the README go (``UI_SCREENSHOTS`` overrides).
SCREENSHOTS = Path(os.getenv("UI_SCREENSHOTS") or ROOT / "docs" / "screenshots")
CHROMIUM = os.getenv("UI_CHROMIUM") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TAG_VAR = "UI_TEST_TAG"
#: How long `dagster dev` may take to come up and load the code location (2 shared cores).
STARTUP_TIMEOUT_S = 180


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _tail(path: Path, lines: int = 60) -> str:
    if not path.exists():
        return ""
    return f"--- {path.name} ---\n" + "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def wait_for(what: str, condition, timeout: float, every: float = 1.0, log: Path | None = None):
    """Poll ``condition`` until it returns something truthy; fail with the log's tail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}\n{_tail(log) if log else ''}")
        time.sleep(every)


def tagged_processes(tag: str) -> dict[int, str]:
    """Live processes (zombies excluded) whose environment carries ``UI_TEST_TAG=tag``: pid -> command line."""
    needle = f"{TAG_VAR}={tag}".encode()
    found: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if needle not in (entry / "environ").read_bytes().split(b"\0"):
                continue
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:  # gone meanwhile, or not ours to read
            continue
        if state != "Z":
            found[int(entry.name)] = cmdline
    return found


def group_members(pgid: int) -> dict[int, str]:
    """Live processes (zombies excluded) of process group ``pgid``: pid -> command line."""
    members: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue
        if fields[0] != "Z" and int(fields[2]) == pgid:
            members[int(entry.name)] = cmdline
    return members


@dataclass
class Platform:
    """The materialized month: where its files are and the environment its processes get."""

    home: Path
    landing: Path
    env: dict[str, str]
    tag: str


@pytest.fixture(scope="session")
def platform(tmp_path_factory) -> Platform:
    """Embedded PostgreSQL, landing zone, lake and DAGSTER_HOME in a temp dir, January 2013 materialized.

    Teardown stops the server and asserts that no process started by the session is left.
    """
    home = tmp_path_factory.mktemp("ui")
    tag = uuid.uuid4().hex
    try:
        with _tagged(tag):  # the postmaster, started through pg_ctl, carries the tag too
            warehouse_url = embedded_warehouse_url(home / "pg")
        admin = urlsplit(warehouse_url)._replace(path="/postgres")
        ensure_database(urlunsplit(admin), "dagster")
        instance_url = urlunsplit(admin._replace(scheme="postgresql+psycopg2", path="/dagster"))
        dagster_home = home / "dagster_home"
        dagster_home.mkdir()
        shutil.copy(ROOT / "dagster.yaml", dagster_home / "dagster.yaml")
        # The "join the community" dialog of a new instance would cover the first page.
        (dagster_home / ".nux").mkdir()
        (dagster_home / ".nux" / "nux.yaml").write_text("seen: 1\n")
        landing = home / "landing"
        publish_sample(StorageResource(url=str(landing)), *(_date(d) for d in MONTH))
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PLATFORM_", "DAGSTER_"))}
        env.update(
            {
                TAG_VAR: tag,
                "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '/usr/bin:/bin')}",
                "PLATFORM_HOME": str(home),
                "DAGSTER_HOME": str(dagster_home),
                "DAGSTER_POSTGRES_URL": instance_url,
                **EVENT_LOG_SETTINGS,
                "PLATFORM_WAREHOUSE_URL": warehouse_url,
                "PLATFORM_LANDING_URL": str(landing),
                "PLATFORM_LAKE_URL": str(home / "lake"),
                # dbt models' column schemas and lineage (opt-in: it costs seconds per run)
                "PLATFORM_DBT_COLUMN_METADATA": "1",
            }
        )
        log = home / "materialize.log"
        with open(log, "wb") as sink:
            proc = subprocess.run(
                [
                    str(BIN / "dagster"),
                    "asset",
                    "materialize",
                    "-m",
                    "platform_assets.definitions",
                    "--select",
                    "*",
                    "--partition-range",
                    f"{MONTH[0]}...{MONTH[1]}",
                ],
                cwd=ROOT,
                env=env,
                stdout=sink,
                stderr=subprocess.STDOUT,
                timeout=900,
            )
        assert proc.returncode == 0, _tail(log)
        # The landing files' arrivals, recorded on landing/<source> as the landing sensor does.
        with open(log, "ab") as sink:
            proc = subprocess.run(
                [str(BIN / "platform-assets"), "report-landing"],
                cwd=ROOT,
                env=env,
                stdout=sink,
                stderr=subprocess.STDOUT,
                timeout=300,
            )
        assert proc.returncode == 0, _tail(log)
        yield Platform(home=home, landing=landing, env=env, tag=tag)
    finally:
        stop_embedded_server(home / "pg")
    # Every process of the session is gone (a run worker's orphan watcher may take a second).
    left: dict[int, str] = {}
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        left = tagged_processes(tag)
        if not left:
            break
        time.sleep(0.5)
    assert not left, f"processes started by the UI tests are still running: {left}"


@contextlib.contextmanager
def _tagged(tag: str):
    """The tag in this process's environment for the block (for what is spawned without an explicit env)."""
    os.environ[TAG_VAR] = tag
    try:
        yield
    finally:
        os.environ.pop(TAG_VAR, None)


def _date(text: str):
    import datetime as dt

    return dt.date.fromisoformat(text)


@dataclass
class DagsterDev:
    url: str
    pgid: int
    log: Path

    def graphql(self, query: str, variables: dict | None = None) -> dict:
        """Dagster's GraphQL API (what the UI itself reads), for cross-checks beside the page."""
        return webserver.graphql(self.url, query, variables)


def _stop_group(proc: subprocess.Popen) -> dict[int, str]:
    """Stop `dagster dev`'s whole process group: SIGTERM, then SIGKILL to whatever is left.

    Returns the members still alive at the end (should be none).
    """
    pgid = proc.pid  # start_new_session: the leader's pid is the group id
    try:
        os.killpg(pgid, signal.SIGTERM)  # dagster dev maps SIGTERM to its Ctrl-C shutdown
    except ProcessLookupError:
        pass
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and group_members(pgid):
        time.sleep(0.5)
    try:
        os.killpg(pgid, signal.SIGKILL)  # e.g. a code server or run worker that ignored SIGTERM
    except ProcessLookupError:
        pass
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        pass
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and group_members(pgid):
        time.sleep(0.2)
    return group_members(pgid)


def _restore_sigint() -> None:
    # A shell that starts pytest in the background hands its children SIGINT ignored; Python
    # then installs no Ctrl-C handler, and dagster dev (which maps SIGTERM onto it) would
    # ignore SIGTERM too. Give it the default back.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.fixture(scope="session")
def dagster_dev(platform) -> DagsterDev:
    """`dagster dev -w workspace.yaml` on loopback in its own process group; the group is killed after."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = platform.home / "dagster_dev.log"
    # As `make dev` does: backfills launched from the UI run in chunks (here of two days, so a
    # short range shows several); the CLI's one-run --partition-range needs the default (0).
    env = {**platform.env, "PLATFORM_UI_URL": url, "PLATFORM_BACKFILL_PARTITIONS_PER_RUN": "2"}
    with open(log, "wb") as sink:
        proc = subprocess.Popen(
            [str(BIN / "dagster"), "dev", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)],
            cwd=ROOT,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_restore_sigint,
        )
    dev = DagsterDev(url=url, pgid=proc.pid, log=log)
    try:

        def serving() -> bool:
            if proc.poll() is not None:
                pytest.fail(f"dagster dev exited with {proc.returncode}\n{_tail(log)}")
            return webserver.serving(url)

        wait_for("the webserver of dagster dev", serving, STARTUP_TIMEOUT_S, log=log)

        def location_loaded() -> bool:
            data = dev.graphql(
                "{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus"
                " locationOrLoadError { __typename ... on PythonError { message } } } } } }"
            )
            entries = data["workspaceOrError"]["locationEntries"]
            for entry in entries:
                loaded = entry["locationOrLoadError"] or {}
                if loaded.get("__typename") == "PythonError":
                    pytest.fail(f"code location {entry['name']} failed to load: {loaded['message']}")
            return bool(entries) and all(
                e["loadStatus"] == "LOADED"
                and (e["locationOrLoadError"] or {}).get("__typename") == "RepositoryLocation"
                for e in entries
            )

        wait_for("the code location to load", location_loaded, STARTUP_TIMEOUT_S, log=log)
        yield dev
    finally:
        left = _stop_group(proc)
    assert not left, f"processes of dagster dev's group survived SIGKILL: {left}"
    assert not [c for c in tagged_processes(platform.tag).values() if "dagster" in c], (
        "a dagster process (webserver, daemon, code server, `dagster api grpc`, run worker) is still running: "
        f"{tagged_processes(platform.tag)}"
    )


@pytest.fixture(scope="session")
def browser(platform):
    """Debian's Chromium through Playwright (no browser download); closed with its driver after the session."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"no Chromium at {CHROMIUM}: `apt-get install -y chromium` (or set UI_CHROMIUM)")
    with _tagged(platform.tag):  # Playwright's driver (node) and Chromium
        playwright = sync_playwright().start()
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=CHROMIUM_ARGS,
            headless=True,
            env={**os.environ, TAG_VAR: platform.tag},
        )
    try:
        yield browser
    finally:
        browser.close()
        playwright.stop()


@pytest.fixture()
def page(browser, dagster_dev):
    """A fresh page on the UI (1440x900, base URL set: ``page.goto('/asset-groups')``)."""
    context = browser.new_context(base_url=dagster_dev.url, viewport={"width": 1440, "height": 900})
    context.set_default_timeout(30_000)
    # assertions wait as long as actions: on a loaded 2-core host a page's first render can
    # take longer than expect()'s 5 s default
    from playwright.sync_api import expect

    expect.set_options(timeout=30_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture(scope="session")
def screenshot():
    """``screenshot(page, name)`` writes ``docs/screenshots/<name>.png``."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(page, name: str, **kwargs) -> Path:
        # Dialogs fade in and graphs pan: wait until no CSS animation or transition runs.
        page.wait_for_function(
            "() => document.getAnimations().every(a => a.playState !== 'running')", polling=100, timeout=10_000
        )
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), **kwargs)
        return path

    return take
