"""A run killed (SIGKILL) in the middle of a multi-batch load leaves the previous state, and
its re-run leaves exactly what a run on an empty warehouse leaves.

A real ``dagster asset materialize`` process loads a day of ~54,000 flights (a real January
day repeated under distinct flight numbers) with a 2,000-row batch budget into a database of
its own; it is killed once its clean step is loading its second batch, with no chance to
clean up.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from tests.processes import stop_process_tree

BIN = Path(sys.executable).parent
DAY = dt.date(2013, 1, 17)
COPIES = 60
SELECTION = "key:raw_flights or key:clean_flights or key:raw_airports or key:clean_airports"


def _digest(url: str) -> tuple:
    """Rows and an md5 of every clean and quarantined row of DAY, in key order."""
    with psycopg.connect(url) as conn:
        return conn.execute(
            "select (select count(*) from clean.flights where flight_date = %(d)s), "
            "(select md5(string_agg(c::text, '|' order by c.flight_id)) from clean.flights c where flight_date = %(d)s), "
            "(select count(*) from quarantine.flights where partition_date = %(d)s), "
            "(select md5(string_agg(q::text, '|' order by q.source_row)) from quarantine.flights q where partition_date = %(d)s)",
            {"d": DAY},
        ).fetchone()


def _copy_into_flights(url: str) -> tuple | None:
    """(backend pid, start) of an active COPY into a flights table of the database at ``url``, or None."""
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(
            "select pid, query_start from pg_stat_activity where datname = current_database() and state = 'active' "
            "and query ilike 'copy %%flights%%' and pid <> pg_backend_pid()"
        ).fetchone()


@pytest.fixture()
def kill_home(tmp_path, landing, warehouse):
    """A landing zone with DAY's flights repeated COPIES times, a lake and a new database."""
    from platform_assets.resources.embedded_postgres import ensure_database

    target = tmp_path / "landing"
    header, *rows = landing.read_bytes(f"flights/{DAY.isoformat()}.csv").decode().splitlines()
    number = header.split(",").index("flight")
    copies = []
    for k in range(COPIES):
        for row in rows:
            fields = row.split(",")
            fields[number] = str(int(fields[number]) + k * 10_000)
            copies.append(",".join(fields))
    (target / "flights").mkdir(parents=True)
    (target / "flights" / f"{DAY.isoformat()}.csv").write_text("\n".join([header, *copies]) + "\n")
    for name in ("airlines", "airports", "planes"):
        (target / "reference").mkdir(exist_ok=True)
        (target / "reference" / f"{name}.csv").write_bytes(landing.read_bytes(f"reference/{name}.csv"))
    parts = urlsplit(warehouse.url)
    database = f"kill_{os.getpid()}"
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'drop database if exists "{database}"')
    ensure_database(admin, database)
    (tmp_path / "home").mkdir()
    yield tmp_path, urlunsplit(parts._replace(path=f"/{database}")), len(copies)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'drop database if exists "{database}" with (force)')


def _start(home: Path, url: str) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DAGSTER_", "PLATFORM_"))}
    env.update(
        DAGSTER_HOME=str(home / "home"),
        PLATFORM_WAREHOUSE_URL=url,
        PLATFORM_LANDING_URL=str(home / "landing"),
        PLATFORM_LAKE_URL=str(home / "lake"),
        PLATFORM_BATCH_ROWS="2000",
    )
    return subprocess.Popen(
        [
            str(BIN / "dagster"),
            "asset",
            "materialize",
            "-m",
            "platform_assets.definitions",
            "--select",
            SELECTION,
            "--partition",
            DAY.isoformat(),
        ],
        cwd=home,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def _run(home: Path, url: str) -> None:
    proc = _start(home, url)
    try:
        output, _ = proc.communicate(timeout=300)
    finally:
        stop_process_tree(proc)
    assert proc.returncode == 0, output[-3000:]


def test_a_run_killed_during_a_multi_batch_load_leaves_the_previous_state(kill_home):
    home, url, flights = kill_home
    _run(home, url)
    before = _digest(url)
    assert before[0] == flights

    # A re-delivery without its last 500 flights: a finished run would change the day.
    day_file = home / "landing" / "flights" / f"{DAY.isoformat()}.csv"
    day_file.write_text("\n".join(day_file.read_text().splitlines()[:-500]) + "\n")
    proc = _start(home, url)
    try:
        first = None
        deadline = time.monotonic() + 240
        while True:
            assert proc.poll() is None, f"the run ended before it was killed:\n{proc.stdout.read()[-3000:]}"
            assert time.monotonic() < deadline, "the clean step never loaded a second batch"
            copying = _copy_into_flights(url)
            if copying and first is None:
                first = copying
            elif copying and copying != first:
                break  # a second COPY into the window's tables: the load is mid-way
            time.sleep(0.02)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        stop_process_tree(proc)
    assert proc.returncode == -signal.SIGKILL
    assert _digest(url) == before  # the killed transaction left nothing behind

    _run(home, url)
    rerun = _digest(url)
    assert rerun[0] == flights - 500
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("drop schema clean cascade")
        conn.execute("drop schema quarantine cascade")
    _run(home, url)
    assert _digest(url) == rerun  # exactly what one run on an empty warehouse leaves
