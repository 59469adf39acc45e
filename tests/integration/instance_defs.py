"""A small partitioned job for the instance-storage test: two chained daily assets and an unpartitioned check."""

import dagster as dg

from platform_assets.partitions import daily_partitions


@dg.asset(partitions_def=daily_partitions, backfill_policy=dg.BackfillPolicy.single_run())
def upstream() -> None:
    return None


@dg.asset(deps=[upstream], partitions_def=daily_partitions, backfill_policy=dg.BackfillPolicy.single_run())
def downstream() -> None:
    return None


@dg.asset_check(asset=downstream, blocking=True)
def window_is_fine() -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=True)


defs = dg.Definitions(assets=[upstream, downstream], asset_checks=[window_is_fine])
