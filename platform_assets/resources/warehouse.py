"""The PostgreSQL warehouse: connection, table DDL and transactional, COPY-based window replaces.

Bulk rows travel as Arrow through ADBC's PostgreSQL driver (binary ``COPY``, no text
formatting or parsing on either side): window writes with ``adbc_ingest`` and window reads
with ``fetch_arrow``. Small queries and DDL outside a write go through psycopg.
"""

from __future__ import annotations

import atexit
import contextlib
import datetime as dt
import os
import threading
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import adbc_driver_postgresql.dbapi as adbc
import dagster as dg
import polars as pl
import psycopg
import pyarrow as pa
from psycopg import sql
from pydantic import Field

from platform_assets.chunking import prefetch_one
from platform_assets.resources.embedded_postgres import embedded_warehouse_url
from platform_assets.tables import TableSpec

#: Dagster concurrency pool of every step that writes the warehouse (clean_*,
#: flight_daily_metrics, dbt_models). dagster.yaml limits it to one run at a time
#: (``concurrency: pools: granularity: run``), so two runs over overlapping windows never
#: interleave their window replacements, while runs that only read (checks) go alongside.
WAREHOUSE_POOL = "warehouse"


@dataclass(frozen=True)
class TableWindow:
    """A table and the window of it a write replaces: ``(first_date, last_date)`` inclusive on
    ``spec.window_column``, or ``None`` for the whole table."""

    spec: TableSpec
    window: tuple[dt.date, dt.date] | None = None


@dataclass(frozen=True)
class TableWrite:
    """One table's share of an atomic write.

    ``frame`` must hold exactly ``spec``'s columns (any order; it is reordered and cast).
    ``window`` is ``(first_date, last_date)`` inclusive: rows of the table whose
    ``spec.window_column`` falls inside are deleted before the COPY. ``window=None``
    replaces the whole table.
    """

    spec: TableSpec
    frame: pl.DataFrame
    window: tuple[dt.date, dt.date] | None = None


class WindowWrite:
    """The open transaction of :meth:`WarehouseResource.replacing`: appends rows to the
    targets' emptied windows, directly or through a staging table that judges the grain.

    ``deleted``: rows removed from each window (``schema.table`` -> rows). ``bulk``: the
    bulk-loaded tables (``schema.table``), whose keys and indexes ``platform.clear_window``
    dropped and the commit rebuilds (``platform_assets/sql/window_replace.sql``).
    """

    def __init__(self, cursor: adbc.Cursor):
        self._cursor = cursor
        self._cur = _Statements(cursor)
        self._staged: set[str] = set()
        self.deleted: dict[str, int] = {}
        self.bulk: set[str] = set()

    def is_bulk(self, spec: TableSpec) -> bool:
        """Whether ``spec``'s table is bulk-loaded: its keys are dropped until the commit, so
        rows breaking the grain can be appended and judged by :meth:`publish_appended`."""
        return spec.qualified_name in self.bulk

    def publish_appended(self, spec: TableSpec, day: dt.date, flag_column: str | None = None) -> tuple[int, int]:
        """Judge the grain of ``day``'s rows appended to a bulk-loaded table (:meth:`is_bulk`).

        The table's keys are built now (as they would be at the commit): when that succeeds,
        no row repeats a key, at no cost beyond building them. When the grain's key finds a
        repeat, only the key's build is undone, every row of ``day`` after the first
        (lowest ``source_file``, ``source_row``) of its key is removed and kept as a *loser*
        (:meth:`staged_losers`), and the keys are built. Later appends maintain the keys.

        Returns:
            (losers, losers whose ``flag_column`` is not null; 0 without a flag column).
        """
        self.bulk.discard(spec.qualified_name)
        rebuild = _rebuild_indexes_sql(spec)
        losers = self._empty_losers(spec)
        # A failed statement would abort the whole transaction: the keys are built in a block
        # whose exception handler undoes just that block (a subtransaction) on a repeat.
        self._cur.execute(
            sql.SQL("create temporary table if not exists grain_keys_built (built boolean) on commit drop")
        )
        self._cur.execute(sql.SQL("truncate grain_keys_built"))
        self._cur.execute(
            sql.SQL(
                "do $grain_keys$ begin perform {}; insert into grain_keys_built values (true); "
                "exception when unique_violation then insert into grain_keys_built values (false); end $grain_keys$"
            ).format(rebuild)
        )
        [(built,)] = self._cur.rows(sql.SQL("select built from grain_keys_built"))
        if built:
            return 0, 0
        inside = sql.SQL("{} = {}").format(spec.window_identifier, sql.Literal(day))
        counts = self._remove_repeats(spec, spec.identifier, inside, losers, flag_column)
        self._cur.rows(sql.SQL("select {}").format(rebuild))
        return counts

    def _empty_losers(self, spec: TableSpec) -> sql.Identifier:
        """The temporary table of ``spec``'s losers (``source_row``), created on first use and emptied."""
        losers = sql.Identifier(_losers_table(spec))
        self._cur.execute(
            sql.SQL("create temporary table if not exists {} (source_row integer not null) on commit drop").format(
                losers
            )
        )
        self._cur.execute(sql.SQL("truncate {}").format(losers))
        return losers

    def _remove_repeats(
        self,
        spec: TableSpec,
        table: sql.Composable,
        where: sql.Composable,
        losers: sql.Identifier,
        flag_column: str | None,
    ) -> tuple[int, int]:
        """Delete the rows of ``table`` (matching ``where``) that repeat an earlier row's grain
        key (ordered by ``source_file``, ``source_row``), keeping their ``source_row`` in ``losers``."""
        grain = sql.SQL(", ").join(map(sql.Identifier, spec.grain))
        flag = (
            sql.SQL("count(*) filter (where {} is not null)").format(sql.Identifier(flag_column))
            if flag_column
            else sql.SQL("0")
        )
        [(count, flagged)] = self._cur.rows(
            sql.SQL(
                "with ranked as (select ctid as id, row_number() over (partition by {grain} "
                "order by source_file, source_row) as rank from {table} where {where}), "
                "gone as (delete from {table} s using ranked r where s.ctid = r.id and r.rank > 1 returning s.*), "
                "kept as (insert into {losers} select source_row from gone returning 1) "
                "select (select count(*) from kept) as losers, (select {flag} from gone) as flagged"
            ).format(grain=grain, table=table, where=where, losers=losers, flag=flag)
        )
        return int(count), int(flagged or 0)

    def copy(self, spec: TableSpec, frame: pl.DataFrame) -> None:
        """Append ``frame`` (``spec``'s columns, any order) to ``spec``'s table with a binary ``COPY``.

        Raises:
            ValueError: the frame lacks a column of the spec.
        """
        _copy_frame(self._cursor, spec, frame)

    def stage(self, spec: TableSpec, frame: pl.DataFrame) -> None:
        """Append ``frame`` to the staging table of ``spec``: rows whose grain is judged over
        every staged row by :meth:`publish_staged` before they reach ``spec``'s table.

        The staging table is a temporary table (no WAL, no index) dropped at the commit.
        """
        stage = _stage_spec(spec)
        if spec.qualified_name not in self._staged:
            self._cur.execute(
                sql.SQL("create temporary table {} (like {}) on commit drop").format(
                    sql.Identifier(stage.name), spec.identifier
                )
            )
            self._staged.add(spec.qualified_name)
        _copy_frame(self._cursor, stage, frame)

    def publish_staged(self, spec: TableSpec, flag_column: str | None = None) -> tuple[int, int]:
        """Move the staged rows into ``spec``'s table, the first row of each grain key only.

        Rows are ordered by ``(source_file, source_row)``; every later row with the same
        grain key is a *loser*: it is not published, and its ``source_row`` is kept for
        :meth:`staged_losers` until the next call. The staging table is emptied.

        Returns:
            (losers, losers whose ``flag_column`` is not null; 0 without a flag column).
        """
        stage = sql.Identifier(_stage_spec(spec).name)
        losers = self._empty_losers(spec)
        count, flagged = self._remove_repeats(spec, stage, sql.SQL("true"), losers, flag_column)
        self._cur.execute(sql.SQL("insert into {} select * from {}").format(spec.identifier, stage))
        self._cur.execute(sql.SQL("truncate {}").format(stage))
        return count, flagged

    def insert_select(self, spec: TableSpec, select: sql.Composable) -> dict[dt.date, int]:
        """Append the rows of ``select`` (``spec``'s columns, in order) to ``spec``'s table inside
        the warehouse; returns the rows added per ``spec.window_column`` date."""
        columns = sql.SQL(", ").join(map(sql.Identifier, spec.column_names))
        return dict(
            self._cur.rows(
                sql.SQL(
                    "with added as (insert into {table} ({columns}) {select} returning {day}) "
                    "select {day} as day, count(*) as n from added group by 1"
                ).format(table=spec.identifier, columns=columns, select=select, day=spec.window_identifier)
            )
        )

    def staged_losers(self, spec: TableSpec, first_row: int, last_row: int) -> list[int]:
        """``source_row`` of the last :meth:`publish_staged`'s losers between ``first_row`` and
        ``last_row`` (inclusive), sorted: a batch's worth at a time."""
        return [
            row
            for (row,) in self._cur.rows(
                sql.SQL("select source_row from {} where source_row between {} and {} order by 1").format(
                    sql.Identifier(_losers_table(spec)), first_row, last_row
                )
            )
        ]


def _stage_spec(spec: TableSpec) -> TableSpec:
    """The temporary staging table of ``spec`` (same columns, no schema, no keys)."""
    return replace(spec, schema="pg_temp", name=f"stage_{spec.schema}_{spec.name}")


def _losers_table(spec: TableSpec) -> str:
    return f"losers_{spec.schema}_{spec.name}"


class WarehouseResource(dg.ConfigurableResource):
    """The PostgreSQL warehouse.

    ``url`` is a libpq URL (``postgresql://user:pass@host:5432/db``). Empty means the
    embedded server, started on demand with its data under ``embedded_home``.
    """

    url: str = Field(default="", description="libpq URL; empty starts the embedded server")
    embedded_home: str = Field(default=".platform", description="home of the embedded server")

    def get_url(self) -> str:
        """The libpq URL in use, starting the embedded server when no URL is configured."""
        return self.url or embedded_warehouse_url(self.embedded_home)

    @contextlib.contextmanager
    def connect(self) -> Iterator[psycopg.Connection]:
        """A psycopg connection; the block runs in one transaction committed on success."""
        with psycopg.connect(self.get_url()) as conn:
            yield conn

    def footprint(self, tables: Sequence[str]) -> tuple[int, int]:
        """Size on disk (bytes, indexes and TOAST included) and rows of ``tables``
        (``schema.table`` names), summed, as they are now."""
        size = rows = 0
        with self.connect() as conn:
            for name in tables:
                schema, table = name.split(".", 1)
                identifier = sql.Identifier(schema, table)
                size += first_value(conn.execute("select pg_total_relation_size(%s::regclass)", (name,)).fetchone())
                rows += first_value(conn.execute(sql.SQL("select count(*) from {}").format(identifier)).fetchone())
        return size, rows

    @contextlib.contextmanager
    def connect_arrow(self) -> Iterator[adbc.Connection]:
        """An ADBC connection; the block runs in one transaction committed on success and
        rolled back if it raises (or, if the process dies, by the server).

        Connections are reused within the process (:data:`_ARROW_CONNECTIONS`): a connection
        whose block succeeded goes back to the pool; one whose block raised is closed.
        """
        url = self.get_url()
        conn = _ARROW_CONNECTIONS.take(url)
        try:
            yield conn
            conn.commit()
        except BaseException:
            with contextlib.suppress(adbc.Error):  # a dead connection rolls back on the server anyway
                conn.rollback()
            with contextlib.suppress(adbc.Error):
                conn.close()
            raise
        _ARROW_CONNECTIONS.give(url, conn)

    def dbt_env(self) -> dict[str, str]:
        """Connection settings as the ``PLATFORM_PG*`` variables ``dbt_project/profiles.yml`` reads."""
        parts = urlsplit(self.get_url())
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        return {
            "PLATFORM_PGHOST": query.get("host") or parts.hostname or "localhost",
            "PLATFORM_PGPORT": str(query.get("port") or parts.port or 5432),
            "PLATFORM_PGUSER": unquote(parts.username or query.get("user") or "postgres"),
            "PLATFORM_PGPASSWORD": unquote(parts.password or query.get("password") or ""),
            "PLATFORM_PGDATABASE": unquote(parts.path.lstrip("/") or query.get("dbname") or "postgres"),
        }

    def replace(self, writes: Sequence[TableWrite]) -> dict[str, int]:
        """Atomically replace windows of one or more tables.

        In a single transaction: create missing schemas/tables, check existing tables
        still match their spec, delete each write's window, and load the new rows with
        a binary ``COPY`` (ADBC's ``adbc_ingest``). Either every table shows the new rows or (if anything
        fails, or the process dies) none does.

        Returns:
            rows deleted per ``schema.table`` (the previous content of the windows).

        Raises:
            ValueError: a frame lacks a column of its spec.
            RuntimeError: an existing table's columns differ from its spec.
        """
        targets = [TableWindow(w.spec, w.window) for w in writes]
        return self.replace_in_batches(targets, [[w.frame for w in writes]])

    def replace_in_batches(
        self, targets: Sequence[TableWindow], batches: Iterable[Sequence[pl.DataFrame]]
    ) -> dict[str, int]:
        """Like :meth:`replace`, with the new rows produced batch by batch, in one transaction.

        ``targets`` name the tables and windows; each item of ``batches`` holds one frame per
        target, in the same order. The next batch is produced on a worker thread while the
        current one loads (:func:`platform_assets.chunking.prefetch_one`), so the producer's
        work overlaps the server's ``COPY``. A window far larger than memory is replaced
        atomically while at most two batches are held at a time. If producing a batch
        raises, the transaction rolls back and the previous content stays. See
        :meth:`replacing` for locking and bulk loads.

        Returns:
            rows deleted per ``schema.table``.

        Raises:
            ValueError: a batch has the wrong number of frames, or a frame lacks a column.
            RuntimeError: an existing table's columns differ from its spec.
        """
        with self.replacing(targets) as write:
            for frames in prefetch_one(batches):
                if len(frames) != len(targets):
                    raise ValueError(f"a batch has {len(frames)} frames for {len(targets)} tables")
                for target, frame in zip(targets, frames, strict=True):
                    write.copy(target.spec, frame)
        return write.deleted

    @contextlib.contextmanager
    def replacing(self, targets: Sequence[TableWindow]) -> Iterator[WindowWrite]:
        """One transaction replacing the windows of ``targets``: the block adds the new rows
        through the yielded :class:`WindowWrite`; on success everything commits at once, and
        if the block raises (or the process dies) nothing changes.

        On entry, missing schemas and tables are created, existing tables checked against
        their spec, and each window emptied. One writer per table at a time (``SHARE ROW
        EXCLUSIVE``; readers are not blocked). When the window holds at least half of a
        table's rows (a backfill), the table is bulk-loaded: emptied with ``TRUNCATE`` if the
        window is all of it, its indexes (the grain's primary key) dropped before the loads
        and built again at the end, in the same transaction. Building an index once is
        several times cheaper than maintaining it row by row against the deleted rows'
        entries (measured on 3.4 M flights: 17 s → 7 s). Readers of that table wait for the
        commit instead of seeing the previous rows meanwhile; a duplicate grain key still
        fails the write (when the key is rebuilt) and rolls everything back.

        Raises:
            RuntimeError: an existing table's columns differ from its spec.
        """
        ensure_window_functions(self.get_url())
        with self.connect_arrow() as conn, conn.cursor() as cursor:
            cur = _Statements(cursor)
            for target in targets:
                _ensure_table(cur, target.spec)
            write = WindowWrite(cursor)
            for target in targets:
                deleted, bulk = _clear_window(cur, target)
                write.deleted[target.spec.qualified_name] = deleted
                if bulk:
                    write.bulk.add(target.spec.qualified_name)
            yield write
            for target in targets:
                if target.spec.qualified_name in write.bulk:
                    cur.rows(sql.SQL("select {}").format(_rebuild_indexes_sql(target.spec)))

    def rows_per_day(self, spec: TableSpec, window: tuple[dt.date, dt.date]) -> dict[dt.date, int]:
        """Rows of ``spec``'s table per ``window_column`` date inside ``window`` (days without rows omitted).

        Returns an empty dict when the table does not exist yet.
        """
        with self.connect() as conn, conn.cursor() as cur:
            if not _table_exists(cur, spec):
                return {}
            cur.execute(
                sql.SQL("select {col}, count(*) from {table} where {col} between %s and %s group by 1").format(
                    col=spec.window_identifier, table=spec.identifier
                ),
                window,
            )
            return dict(cur.fetchall())

    def count_rows(self, spec: TableSpec, window: tuple[dt.date, dt.date] | None = None) -> int:
        """Rows of ``spec``'s table (inside ``window`` when given); 0 when the table does not exist yet."""
        query = sql.SQL("select count(*) from {}").format(spec.identifier)
        if window is not None:
            query += sql.SQL(" where {} between %s and %s").format(spec.window_identifier)
        with self.connect() as conn, conn.cursor() as cur:
            if not _table_exists(cur, spec):
                return 0
            cur.execute(query, window)
            return first_value(cur.fetchone())

    def read_frame(self, query: str, params: Sequence | None = None) -> pl.DataFrame:
        """Run a query and return the result as a polars frame (small results only)."""
        with self.connect() as conn, conn.cursor() as cur:
            cur.execute(query, params)
            columns = [d.name for d in cur.description or []]
            return pl.DataFrame(cur.fetchall(), schema=columns, orient="row")


class _ArrowConnectionPool:
    """Idle ADBC connections of this process, per URL, for reuse.

    Opening an ADBC connection costs ~75 ms (the driver reads the server's type catalogue)
    against ~5 ms for psycopg, and a day's run reads and writes a few dozen times. Idle
    connections are checked with ``select 1`` before reuse (a restarted server or a dropped
    connection gets a new one), keyed by process id (a forked child never shares its
    parent's socket), at most ``keep`` per URL, and closed when the interpreter exits.
    """

    def __init__(self, keep: int = 2):
        self._keep = keep
        self._idle: dict[tuple[int, str], list[adbc.Connection]] = {}
        self._lock = threading.Lock()
        atexit.register(self.close_all)

    def take(self, url: str) -> adbc.Connection:
        """An open connection to ``url``: an idle one that answers, else a new one."""
        with self._lock:
            idle = self._idle.get((os.getpid(), url))
            conn = idle.pop() if idle else None
        if conn is not None:
            try:
                with conn.cursor() as cur:
                    cur.execute("select 1")
                    pl.DataFrame(cur.fetch_arrow())  # read the reply
                return conn
            except adbc.Error:
                with contextlib.suppress(adbc.Error):
                    conn.close()
        return adbc.connect(url)

    def give(self, url: str, conn: adbc.Connection) -> None:
        """Keep ``conn`` (its transaction finished) for the next :meth:`take`, or close it."""
        with self._lock:
            idle = self._idle.setdefault((os.getpid(), url), [])
            if len(idle) < self._keep:
                idle.append(conn)
                return
        conn.close()

    def close_all(self) -> None:
        """Close this process's idle connections."""
        with self._lock:
            mine = [key for key in self._idle if key[0] == os.getpid()]
            conns = [c for key in mine for c in self._idle.pop(key)]
        for conn in conns:
            with contextlib.suppress(adbc.Error):
                conn.close()


_ARROW_CONNECTIONS = _ArrowConnectionPool()


def first_value(row: Sequence[Any] | None) -> Any:
    """The first column of a query's row (``cursor.fetchone()``).

    Raises:
        LookupError: the query returned no row.
    """
    if row is None:
        raise LookupError("the query returned no row")
    return row[0]


def _table_exists(cur: psycopg.Cursor, spec: TableSpec) -> bool:
    cur.execute("select to_regclass(%s) is not null", (spec.qualified_name,))
    return first_value(cur.fetchone())


class _Statements:
    """The SQL of one write transaction on an ADBC cursor.

    Statements are composed with psycopg's ``sql`` module (identifiers and literals quoted
    on the client, so no placeholders reach the driver); result rows come back through
    Arrow as tuples.
    """

    def __init__(self, cursor: adbc.Cursor):
        self._cursor = cursor

    def execute(self, statement: sql.Composable) -> None:
        self._cursor.execute(statement.as_string())

    def rows(self, query: sql.Composable) -> list[tuple]:
        self._cursor.execute(query.as_string())
        return pl.DataFrame(self._cursor.fetch_arrow()).rows()


def _ensure_table(cur: _Statements, spec: TableSpec) -> None:
    # Serialise DDL across concurrent steps: CREATE ... IF NOT EXISTS still races in PostgreSQL.
    cur.rows(sql.SQL("select 1 from pg_advisory_xact_lock({})").format(zlib.crc32(spec.qualified_name.encode())))
    cur.execute(sql.SQL("create schema if not exists {}").format(sql.Identifier(spec.schema)))
    cur.execute(spec.create_table_sql())
    if (window_index := spec.window_index_sql()) is not None:
        cur.execute(window_index)
    actual = cur.rows(
        sql.SQL(
            "select column_name::text, data_type::text from information_schema.columns "
            "where table_schema = {} and table_name = {} order by ordinal_position"
        ).format(spec.schema, spec.name)
    )
    expected = [(name, spec.information_schema_type(name)) for name in spec.column_names]
    added = expected[len(actual) :]
    required = set(spec.grain) | set(spec.not_null)
    if actual == expected[: len(actual)] and added and not {name for name, _ in added} & required:
        # Additive migration: nullable columns appended by a newer version of the code.
        for name, _ in added:
            cur.execute(
                sql.SQL("alter table {} add column if not exists {} {}").format(
                    spec.identifier, sql.Identifier(name), sql.SQL(spec.pg_type(name))
                )
            )
        actual = expected
    if actual != expected:
        raise RuntimeError(
            f"Warehouse table {spec.qualified_name} does not match the code's schema.\n"
            f"  in warehouse: {actual}\n  expected:     {expected}\n"
            "Migrate it, or drop it (and dbt's views on it) and re-run the asset's partitions."
        )


def _clear_window(cur: _Statements, write: TableWindow) -> tuple[int, bool]:
    """Empty ``write``'s window with ``platform.clear_window`` (``sql/window_replace.sql``, the
    implementation dbt's partitioned models share); returns (rows removed, whether to bulk-load)."""
    spec = write.spec
    column, first, last = (spec.window_column, *write.window) if write.window is not None else (None, None, None)
    [(deleted, bulk)] = cur.rows(
        sql.SQL("select deleted, bulk from platform.clear_window({}::regclass, {}, {}::date, {}::date)").format(
            spec.qualified_name, column, first, last
        )
    )
    return int(deleted), bool(bulk)


def _rebuild_indexes_sql(spec: TableSpec) -> sql.Composed:
    """The call rebuilding what :func:`_clear_window` dropped for ``spec``'s table."""
    return sql.SQL("platform.rebuild_window_indexes({}::regclass)").format(spec.qualified_name)


#: Version of ``sql/window_replace.sql`` (stored as the functions' comment); bump it with any change there.
WINDOW_REPLACE_VERSION = "window-replace 1"
WINDOW_REPLACE_SQL = Path(__file__).resolve().parents[1] / "sql" / "window_replace.sql"
_WINDOW_FUNCTIONS_READY: set[str] = set()


def ensure_window_functions(url: str) -> None:
    """Install ``platform.clear_window`` / ``platform.rebuild_window_indexes`` on the warehouse at
    ``url`` unless this version is there; once per process and URL.

    Runs in its own transaction, serialised by an advisory lock, so concurrent first runs
    install it once.
    """
    if url in _WINDOW_FUNCTIONS_READY:
        return
    installed = "select obj_description(to_regprocedure('platform.clear_window(regclass,text,date,date)'), 'pg_proc')"
    with psycopg.connect(url) as conn:
        if first_value(conn.execute(installed).fetchone()) != WINDOW_REPLACE_VERSION:
            conn.execute("select pg_advisory_xact_lock(%s)", (zlib.crc32(WINDOW_REPLACE_VERSION.encode()),))
            if first_value(conn.execute(installed).fetchone()) != WINDOW_REPLACE_VERSION:
                conn.execute(WINDOW_REPLACE_SQL.read_text())
                for signature in ("clear_window(regclass,text,date,date)", "rebuild_window_indexes(regclass)"):
                    conn.execute(f"comment on function platform.{signature} is '{WINDOW_REPLACE_VERSION}'")
    _WINDOW_FUNCTIONS_READY.add(url)


def _copy_frame(cursor: adbc.Cursor, spec: TableSpec, frame: pl.DataFrame) -> None:
    """Append ``frame`` to ``spec``'s table with a binary ``COPY`` (``adbc_ingest``), in the
    cursor's transaction. The frame is put in the table's column order and types first."""
    missing = [c for c in spec.column_names if c not in frame.columns]
    if missing:
        raise ValueError(f"frame for {spec.qualified_name} lacks columns {missing}")
    if frame.height == 0:
        return
    ordered = frame.select(pl.col(name).cast(dtype) for name, dtype in spec.columns.items())
    if spec.schema == "pg_temp":  # a staging table of this transaction
        cursor.adbc_ingest(spec.name, ordered, mode="append", temporary=True)
    else:
        cursor.adbc_ingest(spec.name, ordered, mode="append", db_schema_name=spec.schema)


def read_window_batches(
    warehouse: WarehouseResource,
    spec: TableSpec,
    window: tuple[dt.date, dt.date] | None,
    rows: int,
    columns: Sequence[str] | None = None,
) -> Iterator[pl.DataFrame]:
    """Stream ``spec``'s table (rows inside ``window`` when given) in frames of at most ``rows``
    rows, typed like :func:`read_window`; memory holds one frame.

    The rows arrive through one binary ``COPY`` read as Arrow record batches; an empty
    result yields one empty frame.
    """
    names = list(columns or spec.column_names)
    query = sql.SQL("select {} from {}").format(sql.SQL(", ").join(map(sql.Identifier, names)), spec.identifier)
    if window is not None:
        query += sql.SQL(" where {} between {} and {}").format(
            spec.window_identifier, sql.Literal(window[0]), sql.Literal(window[1])
        )

    def typed(parts: list) -> pl.DataFrame:
        frame = (
            pl.DataFrame(pl.from_arrow(pa.Table.from_batches(parts)))
            if parts
            else pl.DataFrame(schema=[(n, spec.columns[n]) for n in names])
        )
        return frame.select(pl.col(n).cast(spec.columns[n]) for n in names)

    with warehouse.connect_arrow() as conn, conn.cursor() as cur:
        cur.execute(query.as_string())
        reader = cur.fetch_record_batch()
        parts, held, produced = [], 0, False
        for batch in reader:
            while batch.num_rows:
                take = batch.slice(0, rows - held)
                parts.append(take)
                held += take.num_rows
                batch = batch.slice(take.num_rows)
                if held == rows:
                    produced = True
                    yield typed(parts)
                    parts, held = [], 0
        if parts or not produced:
            yield typed(parts)


def repeated_grain_rows(
    warehouse: WarehouseResource, spec: TableSpec, grain: Sequence[str], window: tuple[dt.date, dt.date] | None
) -> int:
    """Rows of ``spec``'s table (inside ``window`` when given) that repeat another row's ``grain`` key.

    Judged by the warehouse, never in Python: 0 at once when a primary-key or unique
    constraint on exactly ``grain`` holds the table (the warehouse enforces it on every
    write), otherwise counted (``count(*) - count(distinct grain)``).
    """
    with warehouse.connect() as conn:
        enforced = first_value(
            conn.execute(
                "select exists (select 1 from pg_constraint c where c.conrelid = to_regclass(%s) and c.contype in ('p', 'u') "
                "and (select array_agg(a.attname::text order by a.attname::text) from pg_attribute a "
                "where a.attrelid = c.conrelid and a.attnum = any(c.conkey)) = %s::text[])",
                (spec.qualified_name, sorted(grain)),
            ).fetchone()
        )
        if enforced:
            return 0
        query = sql.SQL("select count(*) - count(distinct ({})) from {}").format(
            sql.SQL(", ").join(map(sql.Identifier, grain)), spec.identifier
        )
        if window is not None:
            query += sql.SQL(" where {} between %s and %s").format(spec.window_identifier)
        return int(first_value(conn.execute(query, window).fetchone()))


def read_window(
    warehouse: WarehouseResource,
    spec: TableSpec,
    window: tuple[dt.date, dt.date] | None = None,
    columns: Sequence[str] | None = None,
) -> pl.DataFrame:
    """Read ``spec``'s table (rows inside ``window`` when given) as Arrow (binary ``COPY``).

    Returns a frame typed by the spec (``columns`` selects a subset, in that order);
    timestamps in UTC.
    """
    names = list(columns or spec.column_names)
    query = sql.SQL("select {} from {}").format(sql.SQL(", ").join(map(sql.Identifier, names)), spec.identifier)
    if window is not None:
        query += sql.SQL(" where {} between {} and {}").format(
            spec.window_identifier, sql.Literal(window[0]), sql.Literal(window[1])
        )
    with warehouse.connect_arrow() as conn, conn.cursor() as cur:
        cur.execute(query.as_string())
        frame = pl.DataFrame(cur.fetch_arrow())
    return frame.select(pl.col(n).cast(spec.columns[n]) for n in names)
