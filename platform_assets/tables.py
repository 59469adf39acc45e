"""Declared schemas of every table the platform writes to the warehouse.

A :class:`TableSpec` is the one place a table's columns live: the warehouse DDL, the
COPY column order and casts, and Dagster's ``dagster/column_schema`` metadata are all
derived from it. Timestamps are ``timestamptz`` in UTC; durations are whole minutes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import dagster as dg
import polars as pl
from psycopg import sql

from platform_assets.sources.contract import SourceSpec

UTC_TIMESTAMP = pl.Datetime("us", "UTC")

_PG_TYPES: dict[type[pl.DataType], tuple[str, str]] = {
    # polars dtype -> (DDL type, information_schema.columns.data_type)
    pl.String: ("text", "text"),
    pl.Int32: ("integer", "integer"),
    pl.Int64: ("bigint", "bigint"),
    pl.Float64: ("double precision", "double precision"),
    pl.Boolean: ("boolean", "boolean"),
    pl.Date: ("date", "date"),
    pl.Datetime: ("timestamptz", "timestamp with time zone"),
}


@dataclass(frozen=True)
class TableSpec:
    """A warehouse table: ``schema.name`` with ordered, typed and documented columns.

    ``columns`` maps column name to polars dtype; ``descriptions`` documents them (units
    included). ``window_column`` is the date column a partition window is replaced on
    (``None`` for tables replaced whole). ``grain`` names the columns that identify a row.
    """

    schema: str
    name: str
    columns: dict[str, pl.DataType]
    descriptions: dict[str, str]
    grain: tuple[str, ...]
    window_column: str | None = None
    not_null: tuple[str, ...] = field(default=())

    @property
    def window_column_name(self) -> str:
        """``window_column`` of a table replaced by date windows.

        Raises:
            ValueError: the table has no window column (it is replaced whole).
        """
        if self.window_column is None:
            raise ValueError(f"{self.schema}.{self.name} has no window column: it is replaced whole")
        return self.window_column

    @property
    def window_identifier(self) -> sql.Identifier:
        """:attr:`window_column_name` as an SQL identifier (raises like it)."""
        return sql.Identifier(self.window_column_name)

    @property
    def qualified_name(self) -> str:
        return f"{self.schema}.{self.name}"

    @property
    def identifier(self) -> sql.Identifier:
        return sql.Identifier(self.schema, self.name)

    @property
    def column_names(self) -> list[str]:
        return list(self.columns)

    def pg_type(self, column: str) -> str:
        return _PG_TYPES[type(self.columns[column])][0]

    def information_schema_type(self, column: str) -> str:
        return _PG_TYPES[type(self.columns[column])][1]

    def create_table_sql(self) -> sql.Composed:
        required = set(self.grain) | set(self.not_null)
        cols = [
            sql.SQL("{} {}{}").format(
                sql.Identifier(name),
                sql.SQL(_PG_TYPES[type(dtype)][0]),
                sql.SQL(" not null" if name in required else ""),
            )
            for name, dtype in self.columns.items()
        ]
        cols.append(sql.SQL("primary key ({})").format(sql.SQL(", ").join(map(sql.Identifier, self.grain))))
        return sql.SQL("create table if not exists {} ({})").format(self.identifier, sql.SQL(", ").join(cols))

    def window_index_sql(self) -> sql.Composed | None:
        """``create index if not exists`` on ``window_column``, or None when the grain's index leads with it.

        Window reads and deletes select whole days: with the index they read those days'
        pages instead of the whole table (a 45-day chunk of 3.4 M flights: 1.9 s -> 1.2 s).
        """
        if self.window_column is None or self.grain[0] == self.window_column:
            return None
        return sql.SQL("create index if not exists {} on {} ({})").format(
            sql.Identifier(f"{self.name}_{self.window_column}_idx"), self.identifier, sql.Identifier(self.window_column)
        )

    def column_schema(self) -> dg.TableSchema:
        """The table's columns as Dagster ``TableSchema`` (shown in the UI)."""
        required = set(self.grain) | set(self.not_null)
        return dg.TableSchema(
            columns=[
                dg.TableColumn(
                    name=name,
                    type=_PG_TYPES[type(dtype)][0],
                    description=self.descriptions.get(name),
                    constraints=dg.TableColumnConstraints(nullable=name not in required, unique=self.grain == (name,)),
                )
                for name, dtype in self.columns.items()
            ]
        )


LINEAGE_COLUMNS: dict[str, tuple[pl.DataType, str]] = {
    "source_file": (pl.String(), "landing-zone file the row came from (relative to the landing root)"),
    "source_row": (pl.Int32(), "1-based data row number in that file (the header is row 0)"),
    "landed_at": (UTC_TIMESTAMP, "when the source file was last written in the landing zone (UTC)"),
}


def _spec(schema, name, cols, grain, window_column=None, not_null=()) -> TableSpec:
    return TableSpec(
        schema=schema,
        name=name,
        columns={k: v[0] for k, v in cols.items()},
        descriptions={k: v[1] for k, v in cols.items()},
        grain=grain,
        window_column=window_column,
        not_null=tuple(not_null),
    )


FLIGHT_DAILY_METRICS = _spec(
    "aggregate",
    "flight_daily_metrics",
    {
        "flight_date": (pl.Date(), "scheduled departure date (local)"),
        "origin": (pl.String(), "origin airport"),
        "carrier": (pl.String(), "carrier code"),
        "flights": (pl.Int32(), "scheduled flights"),
        "cancelled_flights": (pl.Int32(), "flights that never departed"),
        "flown_flights": (pl.Int32(), "flights that departed"),
        "arrivals_reported": (pl.Int32(), "flown flights with a reported arrival delay"),
        "on_time_arrivals": (pl.Int32(), "reported arrivals with arr_delay_min <= 15"),
        "mean_dep_delay_min": (pl.Float64(), "mean departure delay of flown flights, minutes"),
        "p95_dep_delay_min": (pl.Float64(), "95th percentile (linear) departure delay, minutes"),
        "mean_arr_delay_min": (pl.Float64(), "mean arrival delay of reported arrivals, minutes"),
        "p95_arr_delay_min": (pl.Float64(), "95th percentile (linear) arrival delay, minutes"),
    },
    grain=("flight_date", "origin", "carrier"),
    window_column="flight_date",
    not_null=("flights", "cancelled_flights", "flown_flights", "arrivals_reported", "on_time_arrivals"),
)


def quarantine_spec(source: SourceSpec) -> TableSpec:
    """``quarantine.<source>``: rejected rows with their original text fields and why.

    Grain: (source_file, source_row). ``partition_date`` is the file's date for daily
    sources (null for reference tables) and is the window replaced on re-runs.
    """
    cols: dict[str, tuple[pl.DataType, str]] = {
        "partition_date": (pl.Date(), "partition (file date) the row was delivered in; null for reference data"),
        **LINEAGE_COLUMNS,
        "failed_rules": (pl.String(), "';'-separated names of the rules the row broke"),
        "reason": (pl.String(), "readable explanation, one clause per broken rule"),
    }
    for column in source.columns:
        cols[column] = (pl.String(), f"original '{column}' field as delivered")
    # last, so warehouses created before dead letters existed gain it by an additive migration
    cols["raw_line"] = (pl.String(), "a dead letter's delivered line (fields could not be split); null otherwise")
    return _spec(
        "quarantine",
        source.name,
        cols,
        grain=("source_file", "source_row"),
        window_column="partition_date" if source.daily else None,
        not_null=("failed_rules", "reason"),
    )
