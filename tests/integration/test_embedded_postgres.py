"""The embedded server's URLs stay right when another process stops the server.

The URLs are resolved once per process and server start (a connection each otherwise);
these tests use a server of their own under ``tmp_path`` and stop it at the end.
"""

from __future__ import annotations

import subprocess
import sys

import psycopg

from platform_assets.resources.embedded_postgres import (
    embedded_instance_url,
    embedded_warehouse_url,
    stop_embedded_server,
)


def _databases(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        return {name for (name,) in conn.execute("select datname from pg_database")}


def _stop_from_another_process(home) -> None:
    code = (
        "import sys; from platform_assets.resources.embedded_postgres import stop_embedded_server as s; s(sys.argv[1])"
    )
    subprocess.run([sys.executable, "-c", code, str(home)], check=True, timeout=60)


def test_urls_survive_the_server_being_stopped_by_another_process(tmp_path):
    home = tmp_path / "pg"
    try:
        url = embedded_warehouse_url(home)
        assert embedded_warehouse_url(home) == url
        assert {"warehouse", "dagster"} <= _databases(
            embedded_instance_url(home).replace("postgresql+psycopg2://", "postgresql://")
        )

        # stopped from another process: the pid file is gone, so the next call starts it again
        _stop_from_another_process(home)
        assert not (home / "pgdata" / "postmaster.pid").exists()
        assert "warehouse" in _databases(embedded_warehouse_url(home))

        # and the URLs resolved before the stop are not reused blindly: the instance database works too
        assert "dagster" in _databases(embedded_instance_url(home).replace("postgresql+psycopg2://", "postgresql://"))
    finally:
        stop_embedded_server(home)
