"""dbt layer: the ``dbt_project/`` models as Dagster assets (dagster-dbt).

Two ``@dbt_assets`` definitions, both processing a whole run in one dbt invocation:

* ``dbt_partitioned_models`` (dbt tag ``partitioned``): ``fct_flights`` and the marts,
  incremental ``delete+insert`` on ``flight_date`` over the partition window, passed as
  ``--vars '{min_date, max_date}'``. Daily partitions, ``BackfillPolicy.single_run()``.
* ``dbt_unpartitioned_models``: staging views and dimensions, rebuilt whole.

``dbt build`` runs each model's tests right after it, and dagster-dbt reports them as
asset checks. The translator maps the dbt sources ``clean.*`` and ``aggregate.*`` onto the
Python assets that write those tables, so the lineage is one graph.
"""

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, DbtProject, dbt_assets

from platform_assets.assets.common import OWNERS, TRANSIENT_RETRY, window_bounds
from platform_assets.partitions import daily_partitions
from platform_assets.resources.warehouse import WarehouseResource

DBT_PROJECT_DIR = Path(__file__).resolve().parents[2] / "dbt_project"
PARTITIONED_SELECTOR = "tag:partitioned"

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
dbt_project.prepare_if_dev()
if not dbt_project.manifest_path.exists():
    # A fresh clone that skipped `make install`: parse once (no database needed).
    dbt_project.preparer.prepare(dbt_project)


class PlatformDbtTranslator(DagsterDbtTranslator):
    """Keys, groups and owners for dbt resources.

    dbt source ``clean.<table>`` -> asset ``clean_<table>``; ``aggregate.<table>`` -> ``<table>``.
    Models keep their names as keys; groups follow the folders (``staging``, ``marts``).
    """

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            source, table = dbt_resource_props["source_name"], dbt_resource_props["name"]
            return dg.AssetKey(f"clean_{table}" if source == "clean" else table)
        return dg.AssetKey(dbt_resource_props["name"])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        fqn = dbt_resource_props.get("fqn", [])
        return fqn[1] if len(fqn) > 2 else "marts"

    def get_owners(self, dbt_resource_props: Mapping[str, Any]):
        return OWNERS

    def get_asset_spec(self, manifest: Mapping[str, Any], unique_id: str, project: DbtProject | None) -> dg.AssetSpec:
        """Partitioned models also depend directly on the Python assets their views read.

        ``fct_flights`` reads ``clean.flights`` through the unpartitioned ``stg_flights``
        view. When a run selects only the partitioned assets (what a partition backfill
        does), the view is not in the run, and without this edge Dagster would start the
        dbt step before ``clean_flights`` had written the window.
        """
        spec = super().get_asset_spec(manifest, unique_id, project)
        node = manifest["nodes"].get(unique_id, {})
        if "partitioned" not in node.get("tags", []):
            return spec
        through_views = sorted(self._sources_behind(manifest, node), key=lambda k: k.to_user_string())
        return spec.merge_attributes(deps=[k for k in through_views if k not in {d.asset_key for d in spec.deps}])

    def _sources_behind(self, manifest: Mapping[str, Any], node: Mapping[str, Any]) -> set[dg.AssetKey]:
        """Asset keys of the dbt sources reached through unpartitioned parent models."""
        found: set[dg.AssetKey] = set()
        for parent_id in node.get("depends_on", {}).get("nodes", []):
            if parent_id.startswith("source."):
                found.add(self.get_asset_key(manifest["sources"][parent_id]))
            elif parent_id.startswith("model."):
                parent = manifest["nodes"][parent_id]
                if "partitioned" not in parent.get("tags", []):
                    found |= self._sources_behind(manifest, parent)
        return found


translator = PlatformDbtTranslator(settings=DagsterDbtTranslatorSettings(enable_code_references=False))


def run_dbt(context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource, args: list[str]):
    """Stream a dbt invocation's events into Dagster.

    The warehouse connection goes to dbt through the environment; dbt's artifacts go to a
    temporary target folder removed afterwards (dagster-dbt would otherwise leave one
    folder per invocation under ``dbt_project/target``).
    """
    target_root = Path(dbt_project.project_dir) / dbt_project.target_path
    target_root.mkdir(parents=True, exist_ok=True)
    with dbt_connection_env(warehouse), tempfile.TemporaryDirectory(dir=target_root, prefix="run-") as target:
        yield from dbt.cli(args, context=context, target_path=Path(target)).stream()


@contextlib.contextmanager
def dbt_connection_env(warehouse: WarehouseResource) -> Iterator[None]:
    """Expose the warehouse to the dbt subprocess as the ``PLATFORM_PG*`` variables profiles.yml reads."""
    saved = {k: os.environ.get(k) for k in warehouse.dbt_env()}
    os.environ.update(warehouse.dbt_env())
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    select=PARTITIONED_SELECTOR,
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    dagster_dbt_translator=translator,
    retry_policy=TRANSIENT_RETRY,
)
def dbt_partitioned_models(context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource):
    first, last = window_bounds(context)
    dbt_vars = {"min_date": first.isoformat(), "max_date": last.isoformat()}
    yield from run_dbt(context, dbt, warehouse, ["build", "--vars", json.dumps(dbt_vars)])


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    exclude=PARTITIONED_SELECTOR,
    # Unpartitioned, but declared single-run so ranged CLI runs (`--partition-range`) can include it.
    backfill_policy=dg.BackfillPolicy.single_run(),
    dagster_dbt_translator=translator,
    retry_policy=TRANSIENT_RETRY,
)
def dbt_unpartitioned_models(context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource):
    yield from run_dbt(context, dbt, warehouse, ["build"])


DBT_ASSETS = [dbt_partitioned_models, dbt_unpartitioned_models]
