"""Platform-wide asset checks (landing contract, reconciliation, anomalies) and freshness with its sensor.

The sources' own checks come with their ``LandingSource`` components.
"""

import dagster as dg

from platform_assets.quality.checks import QUALITY_CHECKS
from platform_assets.quality.freshness import freshness_checks, freshness_sensor


@dg.definitions
def quality() -> dg.Definitions:
    return dg.Definitions(asset_checks=[*QUALITY_CHECKS, *freshness_checks()], sensors=[freshness_sensor()])
