"""platform_assets: an asset-centric flight-operations data platform on Dagster.

Landing zone -> raw (parquet lake) -> clean (polars, PostgreSQL) -> aggregate -> dbt marts.
The single ``Definitions`` object lives in :mod:`platform_assets.definitions`.
"""

import warnings

# `backfill_policy` is still labelled beta in Dagster 1.13; we rely on it deliberately
# (ranged backfill runs, see platform_assets/partitions.py), so its warning is noise in every CLI call.
warnings.filterwarnings("ignore", message=r"Parameter `backfill_policy`")
# Partition-aware asset checks (`partitions_def` on a check) are labelled preview; the
# quality gates depend on them on purpose (see platform_assets/quality/checks.py).
warnings.filterwarnings("ignore", message=r"Specifying a partitions_def on an AssetCheckSpec")

# Opt-in only (PLATFORM_GC_TUNING=1): by default importing the package changes nothing global.
from platform_assets.garbage_collection import tune_garbage_collector_if_enabled  # noqa: E402

tune_garbage_collector_if_enabled()
