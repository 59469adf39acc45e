"""Dagster instance storage tuned for partition-heavy runs (referenced from ``dagster.yaml``).

``dagster-postgres`` opens a new database connection for every event it stores
(``NullPool``) except inside the webserver. A ranged run stores one planned and one
materialization event per asset and partition, thousands for a year of days, and the
connection set-up then dominates the run. This event-log storage holds a small pool of
connections per process instead, the same pooling dagster-postgres already uses in the
webserver (``optimize_for_webserver``). Storage format and behaviour are unchanged.
"""

from __future__ import annotations

from dagster_postgres import PostgresEventLogStorage
from dagster_postgres.utils import get_token_provider_from_config, pg_url_from_config

POOL_RECYCLE_SECONDS = 3600
MAX_OVERFLOW = 4


class PooledPostgresEventLogStorage(PostgresEventLogStorage):
    """``PostgresEventLogStorage`` that keeps connections open (pool of 1 + overflow)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # statement_timeout 0 = none: runs, unlike webserver requests, may legitimately be long.
        self.optimize_for_webserver(statement_timeout=0, pool_recycle=POOL_RECYCLE_SECONDS, max_overflow=MAX_OVERFLOW)

    @classmethod
    def from_config_value(cls, inst_data, config_value):
        # The parent hard-codes its own class here; build ours from the same config.
        return cls(
            inst_data=inst_data,
            postgres_url=pg_url_from_config(config_value),
            should_autocreate_tables=config_value.get("should_autocreate_tables", True),
            token_provider=get_token_provider_from_config(config_value),
        )
