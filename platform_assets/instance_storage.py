"""Dagster's instance storage on PostgreSQL (referenced from ``dagster.yaml``).

**Where the database is.** The three storages (runs, event log, schedules) are
dagster-postgres' own, subclassed only so the instance works with nothing exported:
``postgres_url`` / ``postgres_db`` in ``dagster.yaml`` win as usual; without them the URL
comes from the variable named by ``postgres_url_env`` (``DAGSTER_POSTGRES_URL``); without
that, from the embedded server (``.platform/pgdata``, database ``dagster``), started on
first use. So ``dagster asset materialize``, ``dagster dev``, ``dagster instance info`` and
``dg`` work from the repo root as they are, and a real server is one variable away.

**Event-log tuning** for ranged, partition-heavy runs.

A single-run backfill over a year writes, per asset, one materialization and (by default)
one planned event per partition: thousands of single-row inserts, each on a fresh
connection with dagster-postgres' ``NullPool``. Dagster itself has the two levers, both
off by default in OSS and read from the process environment:

* ``DAGSTER_EVENT_BATCH_SIZE``: an output's per-partition materializations are written in
  one multi-row insert (``dagster_postgres`` ``store_event_batch``);
* ``supports_partition_subset_in_asset_materialization_planned_events``
  (``DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS``): one planned event per asset
  carrying the run's partition subset, instead of one per partition.

This storage turns both on from the instance's own configuration, and keeps a small pool of
connections open instead of connecting for every event, so every process that
loads the instance (CLI, webserver, daemon, run workers, step workers) behaves the same
without exporting variables. Storage format and tables are dagster-postgres' own.

Trade-off of the planned-subset setting (documented in the README): while a ranged run is
in progress, or after it failed, the UI does not mark its partitions as in progress or
failed; they stay as they were until a materialization arrives.

It also records each planned asset check once per run (``planned_checks_once_per_run``).
Dagster 1.13 gives the planned event of every check in a ranged run the run's partition
subset, partitioned check or not, and the storage then writes one PLANNED row per
partition: 35,000 rows and about 17 s before a year-long run starts with our 96 checks
(dbt tests included). An unpartitioned check's evaluation then updates none of them, so
they stay PLANNED for good. The platform's checks are all unpartitioned (each evaluates
the run's whole window, see ``quality/checks.py``; ``tests/unit/test_definitions.py``
holds that), so one row per check and run is the truth.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

from dagster import EventLogEntry, Field
from dagster._record import copy
from dagster._core.storage.config import pg_config
from dagster_postgres import PostgresEventLogStorage, PostgresRunStorage, PostgresScheduleStorage
from dagster_postgres.utils import create_pg_engine, get_token_provider_from_config, pg_url_from_config

#: Default number of events per batched insert (Dagster's env variable overrides it).
DEFAULT_EVENT_BATCH_SIZE = 1000
POOL_RECYCLE_SECONDS = 3600
POOL_MAX_OVERFLOW = 4
DEFAULT_URL_ENV = "DAGSTER_POSTGRES_URL"


def instance_postgres_url(config_value: Mapping[str, Any]) -> str:
    """The instance database's URL for one storage's ``dagster.yaml`` config.

    Order: ``postgres_url`` or ``postgres_db`` in the config; else the environment
    variable named by ``postgres_url_env`` (default ``DAGSTER_POSTGRES_URL``); else the
    embedded server's ``dagster`` database (started and created if needed).
    """
    if config_value.get("postgres_url") or config_value.get("postgres_db"):
        return pg_url_from_config(config_value)
    from_env = os.getenv(config_value.get("postgres_url_env") or DEFAULT_URL_ENV)
    if from_env:
        return from_env
    # Imported here: only the embedded default needs pgserver.
    from platform_assets.resources.embedded_postgres import embedded_instance_url

    return embedded_instance_url()


def _config_type() -> dict[str, Any]:
    return {**pg_config(), "postgres_url_env": Field(str, is_required=False, default_value=DEFAULT_URL_ENV)}


def _common_kwargs(inst_data, config_value: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "inst_data": inst_data,
        "postgres_url": instance_postgres_url(config_value),
        "should_autocreate_tables": config_value.get("should_autocreate_tables", True),
        "token_provider": get_token_provider_from_config(config_value),
    }


def _found_once(found: set[str], name: str, lookup: Callable[[], bool]) -> bool:
    """``name in found``, asking ``lookup()`` (and remembering a yes) while it is not."""
    if name not in found and lookup():
        found.add(name)
    return name in found


class _InstanceUrlConfig:
    """The config of a dagster-postgres storage with its URL found by :func:`instance_postgres_url`.

    dagster-postgres' ``from_config_value`` builds its own class from ``pg_url_from_config``;
    this builds the subclass, from the URL resolved here.
    """

    @classmethod
    def config_type(cls):
        return _config_type()

    @classmethod
    def from_config_value(cls, inst_data, config_value: Mapping[str, Any]):
        return cls(**_common_kwargs(inst_data, config_value))


class PlatformRunStorage(_InstanceUrlConfig, PostgresRunStorage):
    """dagster-postgres' run storage, its URL found by :func:`instance_postgres_url`."""


class PlatformScheduleStorage(_InstanceUrlConfig, PostgresScheduleStorage):
    """dagster-postgres' schedule storage, its URL found by :func:`instance_postgres_url`."""


class BatchedPostgresEventLogStorage(PostgresEventLogStorage):
    """``PostgresEventLogStorage`` with batched event writes and one planned event per asset.

    Extra config (beside dagster-postgres' own ``postgres_url`` / ``postgres_db`` and
    ``postgres_url_env``, see :func:`instance_postgres_url`):

    * ``event_batch_size`` (int, default 1000; 0 disables): default for
      ``DAGSTER_EVENT_BATCH_SIZE`` in this process; an exported value wins.
    * ``planned_events_as_partition_subset`` (bool, default true).
    * ``planned_checks_once_per_run`` (bool, default true): only for definitions without
      partitioned asset checks.
    """

    def __init__(
        self,
        *args: Any,
        event_batch_size: int = DEFAULT_EVENT_BATCH_SIZE,
        planned_events_as_partition_subset: bool = True,
        planned_checks_once_per_run: bool = True,
        **kwargs: Any,
    ):
        self._tables_found: set[str] = set()
        self._asset_key_columns_found: set[str] = set()
        super().__init__(*args, **kwargs)
        self._planned_subset = planned_events_as_partition_subset
        self._planned_checks_once = planned_checks_once_per_run
        # Runs, unlike webserver requests, may legitimately be long: no statement timeout.
        self._use_pooled_engine(statement_timeout_ms=None)
        # Dagster reads the batch size from the environment at each event; child processes
        # (step workers, dbt) inherit it.
        os.environ.setdefault("DAGSTER_EVENT_BATCH_SIZE", str(event_batch_size))

    def _use_pooled_engine(self, statement_timeout_ms: int | None) -> None:
        """Hold a small pool of connections (1 + overflow) instead of one connection per event.

        dagster-postgres opens a new connection for every event it stores except in the
        webserver (``optimize_for_webserver``); pooling took a day's run from 18–20 s to 14–15 s.
        The statement timeout goes in the connection's ``options``: dagster-postgres sets it
        in a connect hook that closes the connection under psycopg 3 (``with conn`` closes a
        psycopg 3 connection), which made ``dagster instance info`` and the webserver fail
        with a ``postgresql://`` URL.
        """
        options = [o for o in [self._engine.url.query.get("options")] if o]
        if statement_timeout_ms is not None:
            options.append(f"-c statement_timeout={int(statement_timeout_ms)}")
        kwargs: dict[str, Any] = {
            "isolation_level": "AUTOCOMMIT",
            "pool_size": 1,
            "pool_recycle": POOL_RECYCLE_SECONDS,
            "max_overflow": POOL_MAX_OVERFLOW,
        }
        if options:
            kwargs["connect_args"] = {"options": " ".join(options)}
        self._engine.dispose()
        self._engine = create_pg_engine(self.postgres_url, self._token_provider, **kwargs)

    def has_table(self, table_name: str) -> bool:
        """Whether ``table_name`` exists; a table once found is remembered for the process.

        Dagster asks before every asset event's tag insert (and for check executions, dynamic
        partitions, concurrency), each time a reflection query on a pooled connection. Tables
        are only ever added (by migrations), never dropped while an instance runs, so a
        found table needs no second query; a missing one is asked again.
        """
        return _found_once(self._tables_found, table_name, lambda: PostgresEventLogStorage.has_table(self, table_name))

    def _has_asset_key_col_on_connection(self, conn, column_name: str) -> bool:
        # Asked with every asset event (column reflection of asset_keys); remembered once found, as above.
        lookup = lambda: PostgresEventLogStorage._has_asset_key_col_on_connection(self, conn, column_name)  # noqa: E731
        return _found_once(self._asset_key_columns_found, column_name, lookup)

    def optimize_for_webserver(self, statement_timeout: int, pool_recycle: int, max_overflow: int) -> None:
        # The webserver's own tuning, with the statement timeout passed the psycopg-agnostic way.
        self._use_pooled_engine(statement_timeout_ms=statement_timeout)

    @property
    def supports_partition_subset_in_asset_materialization_planned_events(self) -> bool:
        return self._planned_subset or super().supports_partition_subset_in_asset_materialization_planned_events

    def _store_asset_check_evaluation_planned(self, event: EventLogEntry, event_id: int | None) -> None:
        planned = event.get_dagster_event().event_specific_data
        if self._planned_checks_once and getattr(planned, "partitions_subset", None) is not None:
            unpartitioned = copy(planned, partitions_subset=None)
            event = event._replace(dagster_event=event.get_dagster_event()._replace(event_specific_data=unpartitioned))
        super()._store_asset_check_evaluation_planned(event, event_id)

    @classmethod
    def config_type(cls):
        return {
            **_config_type(),
            "event_batch_size": Field(int, is_required=False, default_value=DEFAULT_EVENT_BATCH_SIZE),
            "planned_events_as_partition_subset": Field(bool, is_required=False, default_value=True),
            "planned_checks_once_per_run": Field(bool, is_required=False, default_value=True),
        }

    @classmethod
    def from_config_value(cls, inst_data, config_value: Mapping[str, Any]) -> BatchedPostgresEventLogStorage:
        # The parent hard-codes its own class here; build ours from the same config.
        return cls(
            **_common_kwargs(inst_data, config_value),
            event_batch_size=config_value.get("event_batch_size", DEFAULT_EVENT_BATCH_SIZE),
            planned_events_as_partition_subset=config_value.get("planned_events_as_partition_subset", True),
            planned_checks_once_per_run=config_value.get("planned_checks_once_per_run", True),
        )
