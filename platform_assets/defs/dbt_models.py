"""The dbt project's models and tests (dagster-dbt), one ``dbt build`` per run (``platform_assets/assets/dbt.py``)."""

import dagster as dg

from platform_assets.assets.dbt import DBT_ASSETS, dbt_resource


@dg.definitions
def dbt_models() -> dg.Definitions:
    return dg.Definitions(assets=DBT_ASSETS, resources={"dbt": dbt_resource()})
