"""Dagster's own floor for the platform's shape: 12 chained no-op assets on the same daily partitions.

Every asset has ``BackfillPolicy.single_run()`` and does nothing, so a run of this job costs
only Dagster's bookkeeping: loading the code, creating the run, planned and materialization
events per asset and partition, step starts and ends. The benchmark runs it with the same
command, instance (``dagster.yaml``) and executor (``PLATFORM_EXECUTOR``) as the platform,
so ``platform / floor`` is what the platform's own work and overhead add.
"""

import dagster as dg

from platform_assets.executor import platform_executor
from platform_assets.partitions import daily_partitions

CHAIN_LENGTH = 12


def _noop_asset(index: int) -> dg.AssetsDefinition:
    @dg.asset(
        name=f"floor_{index:02d}",
        deps=[f"floor_{index - 1:02d}"] if index else [],
        partitions_def=daily_partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
    )
    def _asset() -> dg.MaterializeResult:
        return dg.MaterializeResult()

    return _asset


defs = dg.Definitions(assets=[_noop_asset(i) for i in range(CHAIN_LENGTH)], executor=platform_executor())
