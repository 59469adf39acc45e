"""The aggregate layer: Python assets over the clean tables (``platform_assets/assets/aggregate.py``)."""

import dagster as dg

from platform_assets.assets.aggregate import AGGREGATE_ASSETS


@dg.definitions
def aggregate() -> dg.Definitions:
    return dg.Definitions(assets=AGGREGATE_ASSETS)
