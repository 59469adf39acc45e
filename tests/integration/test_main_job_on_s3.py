"""The whole main job with the landing zone and the lake on S3 (a real S3 server on loopback)."""

from __future__ import annotations

import datetime as dt

import dagster as dg

from platform_assets.resources.storage import StorageResource
from platform_assets.sources.nycflights13 import publish_sample
from tests.integration.conftest import query


def test_a_day_runs_end_to_end_on_s3(defs, warehouse, s3_bucket):
    day = dt.date(2013, 1, 9)
    landing = StorageResource(url=f"s3://{s3_bucket}/landing")
    lake = StorageResource(url=f"s3://{s3_bucket}/lake")
    publish_sample(landing, day, day)
    source_rows = landing.read_bytes(f"flights/{day}.csv").decode().count("\n") - 1

    result = dg.materialize(
        assets=[*defs.assets, *defs.asset_checks],
        resources={**defs.resources, "landing": landing, "lake": lake},
        tags={"dagster/asset_partition_range_start": str(day), "dagster/asset_partition_range_end": str(day)},
        instance=dg.DagsterInstance.ephemeral(),
    )
    assert result.success
    # raw parquet went to the S3 lake, and the warehouse and marts hold the day
    assert lake.list_keys("raw/flights") == [f"raw/flights/{day}.parquet"]
    assert lake.parquet_row_count([f"raw/flights/{day}.parquet"]) == source_rows
    assert query(warehouse, "select count(*) from analytics.fct_flights where flight_date = %s", (day,)) == [
        (source_rows,)
    ]
    assert query(warehouse, "select distinct source_file from clean.flights where flight_date = %s", (day,)) == [
        (f"flights/{day}.csv",)
    ]
    reconciled = {
        e.asset_key.to_user_string(): e.passed
        for e in result.get_asset_check_evaluations()
        if e.check_name == "raw_equals_clean_plus_quarantined"
    }
    assert reconciled and all(reconciled.values())
