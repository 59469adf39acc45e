"""The platform's ``Definitions``: everything under ``platform_assets/defs/``, loaded by Dagster's
``load_from_defs_folder`` (loaded by ``dagster dev``, ``dagster asset materialize -m
platform_assets.definitions``, ``workspace.yaml`` and ``dg``).

``defs/sources/<name>/defs.yaml``: the landing sources (``LandingSource`` components);
``defs/aggregate.py``, ``defs/dbt_models.py``: the aggregate layer and the dbt project;
``defs/quality.py``: platform-wide checks and freshness; ``defs/automation.py``: jobs, the
landing sensor, the schedule; ``defs/alerts.py``; ``defs/resources.py``: resources and the
executor, from the environment (README "Configuration").

An invalid source declaration fails the load with the file, line and field of each problem.
"""

from pathlib import Path

import dagster as dg

from platform_assets.sources.registry import DEFS_DIR, explained_declaration_errors

with explained_declaration_errors(DEFS_DIR):
    defs = dg.load_from_defs_folder(path_within_project=Path(__file__).parent)
