"""run_benchmark --instance fresh: a new, empty Dagster storage database on each call, beside
the project instance's, which it never touches."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import psycopg

from benchmarks.run_benchmark import fresh_instance
from platform_assets.resources.embedded_postgres import embedded_warehouse_url, stop_embedded_server


def test_each_call_gives_an_empty_database_and_leaves_the_project_instance_alone(tmp_path):
    home = tmp_path / "pg"
    server = urlsplit(embedded_warehouse_url(home))
    admin = urlunsplit(server._replace(path="/postgres"))
    project = urlunsplit(server._replace(scheme="postgresql+psycopg2", path="/dagster"))
    try:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute('create database "dagster"')
        with psycopg.connect(urlunsplit(server._replace(path="/dagster")), autocommit=True) as conn:
            conn.execute("create table event_logs (id int)")
            conn.execute("insert into event_logs values (1)")

        url = fresh_instance(project, name="bench_instance")
        parts = urlsplit(url)
        assert parts.scheme == "postgresql+psycopg2" and parts.path == "/bench_instance"
        assert parts.query == server.query  # same server, same socket
        plain = urlunsplit(parts._replace(scheme="postgresql"))
        with psycopg.connect(plain, autocommit=True) as conn:
            conn.execute("create table event_logs (id int)")  # a run's history
            conn.execute("insert into event_logs values (1), (2)")

        assert fresh_instance(project, name="bench_instance") == url
        with psycopg.connect(plain, autocommit=True) as conn:  # the history is gone
            assert conn.execute("select count(*) from pg_tables where tablename = 'event_logs'").fetchone()[0] == 0
        with psycopg.connect(urlunsplit(server._replace(path="/dagster"))) as conn:
            assert conn.execute("select count(*) from event_logs").fetchone()[0] == 1
    finally:
        stop_embedded_server(home)
