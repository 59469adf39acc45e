"""aggregate layer: polars group-bys over clean tables, written to the warehouse schema ``aggregate``."""

import dagster as dg
import polars as pl

from platform_assets.assets.common import (
    OWNERS,
    TRANSIENT_RETRY,
    add_partition_metadata,
    add_run_metadata,
    day_counts,
    preview,
    table_metadata,
    window_bounds,
    window_dates,
    window_metadata,
)
from platform_assets.automation.daily_trigger import daily_condition
from platform_assets.chunking import batch_rows, plan_chunks, prefetch_one
from platform_assets.observability.step_cost import measure_step
from platform_assets.partitions import BACKFILL_POLICY, daily_partitions
from platform_assets.resources.warehouse import WAREHOUSE_POOL, TableWindow, WarehouseResource, read_window
from platform_assets.sources.registry import clean_table
from platform_assets.tables import FLIGHT_DAILY_METRICS
from platform_assets.transforms.metrics import flight_daily_metrics as compute_flight_daily_metrics
from platform_assets.transforms.metrics import flight_daily_metrics_sql


def _from_flights(*columns: str) -> list[dg.TableColumnDep]:
    return [dg.TableColumnDep(asset_key=dg.AssetKey("clean_flights"), column_name=c) for c in columns]


#: Which clean.flights columns each metric is computed from (transforms/metrics.py).
COLUMN_LINEAGE = dg.TableColumnLineage(
    deps_by_column={
        "flight_date": _from_flights("flight_date"),
        "origin": _from_flights("origin"),
        "carrier": _from_flights("carrier"),
        "flights": _from_flights("flight_date", "origin", "carrier"),
        "cancelled_flights": _from_flights("is_cancelled"),
        "flown_flights": _from_flights("is_cancelled"),
        "arrivals_reported": _from_flights("is_cancelled", "arr_delay_min"),
        "on_time_arrivals": _from_flights("is_cancelled", "arr_delay_min"),
        "mean_dep_delay_min": _from_flights("is_cancelled", "dep_delay_min"),
        "p95_dep_delay_min": _from_flights("is_cancelled", "dep_delay_min"),
        "mean_arr_delay_min": _from_flights("is_cancelled", "arr_delay_min"),
        "p95_arr_delay_min": _from_flights("is_cancelled", "arr_delay_min"),
    }
)


@dg.asset(
    description="Operations metrics per day, origin and carrier (grain: flight_date x origin x carrier) in "
    "`aggregate.flight_daily_metrics`: flights, cancelled, flown, reported arrivals, on-time arrivals "
    "(arr_delay <= 15 min among flown flights with an arrival delay), mean and p95 departure and arrival delay "
    "in minutes.",
    group_name="aggregate",
    owners=OWNERS,
    kinds={"polars", "postgres"},
    code_version="1",
    deps=["clean_flights"],
    partitions_def=daily_partitions,
    automation_condition=daily_condition(),
    backfill_policy=BACKFILL_POLICY,
    retry_policy=TRANSIENT_RETRY,
    pool=WAREHOUSE_POOL,
    metadata=table_metadata(FLIGHT_DAILY_METRICS),
)
def flight_daily_metrics(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    # Chunks of whole days: the grain holds the date, so no group spans two chunks. A chunk
    # is aggregated by polars in memory, except a day over the batch budget, which the
    # warehouse aggregates where it lies (transforms.metrics.flight_daily_metrics_sql).
    window = window_bounds(context)
    columns = ["flight_date", "origin", "carrier", "is_cancelled", "dep_delay_min", "arr_delay_min"]
    flights_table = clean_table("flights")
    budget = batch_rows()
    rows_per_day = warehouse.rows_per_day(flights_table, window)
    chunks = plan_chunks(*window, rows_per_day, budget)
    totals = {"rows_in": 0, "rows_out": 0}  # the worker thread's chunks
    in_warehouse = {"rows_in": 0, "rows_out": 0}  # the days the warehouse aggregated (main thread)
    per_day: dict = {}
    sample: list[pl.DataFrame] = []

    def batches():  # on a worker thread, one chunk ahead of the writes
        for chunk in chunks:
            if chunk[0] == chunk[1] and rows_per_day.get(chunk[0], 0) > budget:
                yield chunk
                continue
            flights = read_window(warehouse, flights_table, chunk, columns)
            metrics = compute_flight_daily_metrics(flights)
            totals["rows_in"] += flights.height
            totals["rows_out"] += metrics.height
            flights_per_day = day_counts(flights, "flight_date")
            for day, n in day_counts(metrics, "flight_date").items():
                per_day[day] = {"dagster/row_count": n, "rows_out": n, "rows_in": flights_per_day.get(day, 0)}
            if not sample and metrics.height:
                sample.append(metrics.head(5))
            yield metrics

    def write_all() -> None:
        with warehouse.replacing([TableWindow(FLIGHT_DAILY_METRICS, window)]) as write:
            for item in prefetch_one(batches()):
                if isinstance(item, pl.DataFrame):
                    write.copy(FLIGHT_DAILY_METRICS, item)
                    continue
                added = write.insert_select(FLIGHT_DAILY_METRICS, flight_daily_metrics_sql(flights_table, *item))
                for day, n in added.items():  # distinct days from the worker's: no shared key
                    per_day[day] = {"dagster/row_count": n, "rows_out": n, "rows_in": rows_per_day.get(day, 0)}
                    in_warehouse["rows_in"] += rows_per_day.get(day, 0)
                    in_warehouse["rows_out"] += n

    with measure_step() as cost:
        write_all()
    totals = {k: totals[k] + in_warehouse[k] for k in totals}
    cost.rows_read, cost.rows_written = totals["rows_in"], totals["rows_out"]
    cost.measure_tables(warehouse, [FLIGHT_DAILY_METRICS.qualified_name])
    empty = {"dagster/row_count": 0, "rows_out": 0, "rows_in": 0}
    add_partition_metadata(context, {day: per_day.get(day, empty) for day in window_dates(context)})
    add_run_metadata(
        context,
        {
            "preview": preview(sample[0] if sample else pl.DataFrame()),
            **cost.metadata(),
            "dagster/column_lineage": COLUMN_LINEAGE,
        },
    )
    return dg.MaterializeResult(
        metadata={
            **window_metadata(context, totals["rows_out"]),
            "window_rows_in": totals["rows_in"],
            "chunks": len(chunks),
        }
    )


AGGREGATE_ASSETS = [flight_daily_metrics]
