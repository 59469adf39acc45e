"""The local Dagster instance: where ``dagster.yaml``'s storage points when nothing is exported.

``dagster.yaml`` uses dagster-postgres' storages with ``postgres_url: {env: DAGSTER_POSTGRES_URL}``
and Dagster's own event-log settings, which Dagster reads from the environment of every process
that writes events or creates runs. Locally those variables come from the project's ``.env``,
which Dagster's CLIs (``dagster``, ``dagster dev``, ``dg``) load from the current directory and
``platform-assets`` loads too. :func:`write_dotenv` writes it (``make install`` / ``make up``):

* ``DAGSTER_HOME``: the project root (its ``dagster.yaml``);
* ``DAGSTER_POSTGRES_URL``: the embedded server's ``dagster`` database (``.platform/pgdata``,
  a Unix socket, no TCP port);
* :data:`EVENT_LOG_SETTINGS`;
* :data:`LOCAL_PROCESS_SETTINGS`: the platform's opt-in garbage-collector tuning, switched on
  for the local processes that import the platform (code server, run workers, CLIs).

Every line has the form ``NAME=${NAME:-default}``: a value exported in the shell wins, because
Dagster's CLIs let ``.env`` override the environment.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

#: Dagster's own switches for a partition-heavy event log (read by Dagster from the environment):
#: an output's per-partition materializations stored in one insert per 1,000 events, and one
#: planned event per asset carrying a ranged run's partition subset instead of one per partition.
EVENT_LOG_SETTINGS: Mapping[str, str] = {
    "DAGSTER_EVENT_BATCH_SIZE": "1000",
    "DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS": "true",
}


#: Opt-in settings of the platform's own that local runs use (see garbage_collection.py): a day's
#: run took 27.5 s with CPython's collector defaults and 23.5 s with these (medians of 3,
#: alternating, 2-core host).
LOCAL_PROCESS_SETTINGS: Mapping[str, str] = {"PLATFORM_GC_TUNING": "1"}


def instance_env(project_root: Path, instance_url: str) -> dict[str, str]:
    """The variables a local Dagster process needs: name -> default value.

    Args:
        project_root: the folder holding ``dagster.yaml`` (becomes ``DAGSTER_HOME``).
        instance_url: SQLAlchemy URL of the instance database (psycopg2 driver), e.g. from
            :func:`platform_assets.resources.embedded_postgres.embedded_instance_url`.
    """
    return {
        "DAGSTER_HOME": str(project_root),
        "DAGSTER_POSTGRES_URL": instance_url,
        **EVENT_LOG_SETTINGS,
        **LOCAL_PROCESS_SETTINGS,
    }


def write_dotenv(path: Path, defaults: Mapping[str, str]) -> None:
    """Write ``NAME=${NAME:-value}`` for each of ``defaults`` into the dotenv file ``path``.

    Lines of other variables (a user's own settings) are kept; a line of one of these names
    is replaced. Creates the file if missing.

    Raises:
        ValueError: a value contains ``}`` (it would end the ``${...}`` default).
    """
    from dotenv import set_key

    path.touch(exist_ok=True)
    for name, value in defaults.items():
        if "}" in value:
            raise ValueError(f"{name}={value!r}: a .env default cannot contain '}}'")
        set_key(path, name, f"${{{name}:-{value}}}", quote_mode="never")
