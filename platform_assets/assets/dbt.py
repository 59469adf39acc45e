"""dbt layer: the ``dbt_project/`` models as Dagster assets (dagster-dbt), one dbt invocation per run.

One ``@dbt_assets`` definition, ``dbt_models``, with the backfill policy every partitioned
asset shares (:data:`platform_assets.partitions.BACKFILL_POLICY`): a run over one day, a
backfill's chunk or a year is a single ``dbt build``.

* Models whose rows belong to daily partitions (``meta.partition_column`` in
  ``dbt_project.yml``) are daily-partitioned assets: ``fct_flights`` and the marts (dbt tag
  ``partitioned``), incremental ``delete+insert`` over the run's partition window, and the
  staging views of the daily tables on their path (``stg_flights``, ``stg_weather``,
  ``stg_flight_daily_metrics``), which keep the partitioned chain connected so a backfill
  of the partitioned assets alone still runs dbt after the clean tables.
* The reference data's staging views and the dimensions built from them (``stg_airlines``
  ... ``dim_planes``) are unpartitioned, like the raw and clean reference assets they read:
  each is rebuilt whole by every run, so a daily partition of them would be a fiction.
  Dagster lets a subsettable multi-asset mix both (the translator's
  ``get_asset_spec``); a year's run then records one materialization for each of
  these six instead of 365 (2,184 fewer events).

The window reaches dbt as ``PLATFORM_DBT_MIN_DATE`` / ``PLATFORM_DBT_MAX_DATE`` in the
environment (``macros/date_window.sql``), not as ``--vars``: changing ``--vars`` makes dbt
re-parse the whole project (seconds), a new window in the environment does not. The
partial-parse state dbt writes is kept per warehouse connection (:func:`keep_partial_parse`),
so after the first run on a machine dbt starts without parsing.

``dbt build`` runs each model's tests right after it, and dagster-dbt reports them as asset
checks. The translator maps the dbt sources ``clean.*`` and ``aggregate.*`` onto the Python
assets that write those tables, so the lineage is one graph.
"""

import contextlib
import datetime as dt
import hashlib
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, DbtProject, dbt_assets

from platform_assets.assets.common import (
    OWNERS,
    TRANSIENT_RETRY,
    add_partition_metadata,
    add_run_metadata,
    has_window,
    window_bounds,
)
from platform_assets.assets.dbt_manifest import prepare_dbt_project
from platform_assets.automation.daily_trigger import daily_condition
from platform_assets.executor import HEAVY_STEP_TAGS
from platform_assets.observability.step_cost import measure_step, process_tree_cpu_seconds
from platform_assets.partitions import BACKFILL_POLICY, daily_partitions
from platform_assets.paths import PROJECT_ROOT
from platform_assets.resources.warehouse import WAREHOUSE_POOL, WarehouseResource, ensure_window_functions, first_value

# The dbt project beside the package in a checkout; where the package is installed as a wheel
# (the container image), under PLATFORM_HOME.
_BESIDE_PACKAGE = Path(__file__).resolve().parents[2] / "dbt_project"
DBT_PROJECT_DIR = _BESIDE_PACKAGE if _BESIDE_PACKAGE.is_dir() else PROJECT_ROOT / "dbt_project"
PARTIAL_PARSE_FILE = "partial_parse.msgpack"
#: dbt tag of the models whose rows belong to daily partitions (incremental over the window).
PARTITIONED_TAG = "partitioned"

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
# Instead of dbt_project.prepare_if_dev(), which re-parses at every load under `dagster dev`
# and dg (~13 s): parse when the manifest is missing (a clone that skipped `make install`)
# or, in development, older than a dbt file.
prepare_dbt_project(dbt_project)


@dataclass(frozen=True)
class PartitionedModel:
    """A dbt model replaced per day (tag ``partitioned``): its relation and day column."""

    relation: str  # e.g. "analytics"."fct_flights"
    day_column: str  # the incremental unique_key, e.g. flight_date


def _model_relations(manifest_path: Path) -> tuple[dict[dg.AssetKey, str], dict[dg.AssetKey, PartitionedModel]]:
    """From dbt's manifest: every table model's relation, and the partitioned models' relation and day column."""
    manifest = json.loads(manifest_path.read_text())
    relations, partitioned = {}, {}
    for node in manifest["nodes"].values():
        # tables only: counting a view's rows would run its query (a full scan), and it stores nothing
        if (
            node["resource_type"] == "model"
            and node.get("relation_name")
            and node["config"].get("materialized") != "view"
        ):
            key = translator.get_asset_key(node)
            # schema.table only: the manifest's relation_name carries the database dbt parsed
            # against, which need not be the one a run connects to (PostgreSQL refuses
            # cross-database names)
            relation = f'"{node["schema"]}"."{node["alias"]}"'
            relations[key] = relation
            if PARTITIONED_TAG in node.get("tags", []):
                partitioned[key] = PartitionedModel(relation, node["config"]["unique_key"])
    return relations, partitioned


def model_day_counts(warehouse: WarehouseResource, model: PartitionedModel, first, last) -> dict[Any, dict[str, int]]:
    """Rows of a partitioned model per day of ``first..last`` (0 for a day without rows)."""
    with warehouse.connect() as conn:
        rows = conn.execute(
            f"select {model.day_column}, count(*) from {model.relation} "  # names from dbt's manifest
            f"where {model.day_column} between %s and %s group by 1",
            (first, last),
        ).fetchall()
    found = dict(rows)
    days = [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
    return {day: {"dagster/row_count": found.get(day, 0)} for day in days}


#: The executable dagster-dbt starts: ``platform-dbt`` beside this interpreter (answers dagster-dbt's
#: ``--version`` probe without starting dbt, runs the real ``dbt`` for everything else;
#: :mod:`platform_assets.dbt_launcher`), so an un-activated venv and the image work alike.
DBT_EXECUTABLE = str(Path(sys.executable).parent / "platform-dbt")


def dbt_resource() -> DbtCliResource:
    """dagster-dbt's ``DbtCliResource`` for ``dbt_project/`` with :data:`DBT_EXECUTABLE`."""
    return DbtCliResource(project_dir=dbt_project, dbt_executable=DBT_EXECUTABLE)


def column_metadata_enabled() -> bool:
    """``PLATFORM_DBT_COLUMN_METADATA=1``: dagster-dbt's column schemas and column lineage for every
    model (sqlglot over the compiled SQL; adds seconds to a run, so opt-in)."""
    return os.getenv("PLATFORM_DBT_COLUMN_METADATA", "0") == "1"


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
        """dagster-dbt's spec, with daily partitions for a model whose rows belong to days
        (``meta.partition_column`` in ``dbt_project.yml``); other models stay unpartitioned."""
        spec = super().get_asset_spec(manifest, unique_id, project)
        node = manifest.get("nodes", {}).get(unique_id) or {}
        meta = node.get("config", {}).get("meta") or {}
        if node.get("resource_type") == "model" and meta.get("partition_column"):
            return spec.replace_attributes(partitions_def=daily_partitions, automation_condition=daily_condition())
        return spec


translator = PlatformDbtTranslator(settings=DagsterDbtTranslatorSettings(enable_code_references=False))
RELATIONS, PARTITIONED_MODELS = _model_relations(dbt_project.manifest_path)


@contextlib.contextmanager
def process_env(values: Mapping[str, str]) -> Iterator[None]:
    """Set environment variables for the block (dagster-dbt passes ``os.environ`` to dbt), then restore them."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def partial_parse_state(project_target: Path, connection: Mapping[str, str]) -> Path:
    """Where the partial-parse state for one warehouse connection is kept.

    dbt discards its partial-parse state when the connection settings (host, port, user,
    database) differ from those it was written with, so one file per connection is kept:
    ``target/partial_parse/<hash>.msgpack``. Two environments on one checkout (the
    embedded warehouse and another database) then both keep theirs. No secret is hashed.
    """
    keys = ("PLATFORM_PGHOST", "PLATFORM_PGPORT", "PLATFORM_PGUSER", "PLATFORM_PGDATABASE")
    digest = hashlib.sha1("\0".join(connection.get(k, "") for k in keys).encode()).hexdigest()[:16]
    return project_target / "partial_parse" / f"{digest}.msgpack"


def seed_partial_parse(run_target: Path, state: Path) -> None:
    """Put the kept state into an invocation's target folder (dagster-dbt then leaves it there).

    The state's modification time is set to now: pruning keeps the states used most recently,
    so a connection used every day outlives a burst of test sessions that each wrote one.
    """
    with contextlib.suppress(FileNotFoundError):  # none kept yet, or pruned a moment ago
        shutil.copyfile(state, run_target / PARTIAL_PARSE_FILE)
        os.utime(state)


def keep_partial_parse(run_target: Path, state: Path) -> None:
    """Keep the partial-parse state dbt wrote into ``run_target`` as ``state`` for later runs.

    dbt rewrites it after every parse, full or partial; keeping it means the next run with
    the same connection starts without parsing. The replace is atomic, so concurrent runs
    see one whole file or the other.
    """
    produced = run_target / PARTIAL_PARSE_FILE
    if not produced.exists():
        return
    if state.exists() and state.read_bytes() == produced.read_bytes():
        return
    state.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=state.parent, prefix=f".{state.name}.")
    os.close(fd)
    os.replace(produced, tmp)
    os.replace(tmp, state)
    _prune_states(state.parent, keep=state)


#: Partial-parse states kept (the connections used most recently); each is ~0.7 MB, and test
#: sessions, each on its own temporary server, would otherwise add one per session forever.
KEPT_STATES = 8


def _prune_states(folder: Path, keep: Path) -> None:
    """Remove all but the :data:`KEPT_STATES` most recently used states (never ``keep``).

    A state's modification time is when it was last written or seeded into a run.
    """
    states = sorted(folder.glob("*.msgpack"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in states[KEPT_STATES:]:
        if old != keep:
            old.unlink(missing_ok=True)


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    name="dbt_models",
    backfill_policy=BACKFILL_POLICY,
    dagster_dbt_translator=translator,
    retry_policy=TRANSIENT_RETRY,
    pool=WAREHOUSE_POOL,
    op_tags=HEAVY_STEP_TAGS,  # dbt's start and build: the heaviest step of every run
)
def dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource):
    """``dbt build`` of the selected models and tests for the run's partition window.

    The warehouse connection reaches dbt as the ``PLATFORM_PG*`` variables profiles.yml
    reads; dbt's artifacts go to a temporary target folder removed afterwards (dagster-dbt
    would otherwise leave one folder per invocation under ``dbt_project/target``).
    A run without a partition (only views or dimensions selected, e.g. "Materialize" on
    ``dim_carriers`` in the UI) tests the window-aware views over every partition.
    """
    first, last = _run_window(context)
    # the window replace dbt's partitioned models call (pre-/post-hooks), shared with the Python writer
    ensure_window_functions(warehouse.get_url())
    project_target = Path(dbt_project.project_dir) / dbt_project.target_path
    project_target.mkdir(parents=True, exist_ok=True)
    connection = warehouse.dbt_env()
    state = partial_parse_state(project_target, connection)
    env = {**connection, "PLATFORM_DBT_MIN_DATE": first.isoformat(), "PLATFORM_DBT_MAX_DATE": last.isoformat()}
    with process_env(env), tempfile.TemporaryDirectory(dir=project_target, prefix="run-") as target:
        seed_partial_parse(Path(target), state)
        with measure_step() as cost:
            # --no-write-json, --log-level-file none: the target folder (and dbt's log path, which
            # dagster-dbt points at it) is removed after the run, so dbt's JSON artifacts and its
            # debug log were written for nobody (~0.4 s each of a standalone day's `dbt build`).
            # dbt's events still reach the step's logs; partial-parse state is still kept.
            stream = dbt.cli(
                ["build", "--no-write-json", "--log-level-file", "none"], context=context, target_path=Path(target)
            ).stream()
            if column_metadata_enabled():
                # column schemas and column lineage (sqlglot over the compiled SQL) for every model
                stream = stream.fetch_column_metadata(with_column_lineage=True)
            yield from _failing_tests_not_retried(_with_model_figures(context, warehouse, stream, cost, first, last))
        try:
            keep_partial_parse(Path(target), state)
        except OSError as exc:  # a cache: the next run parses again, nothing is wrong with this one
            context.log.warning(f"could not keep dbt's partial-parse state at {state}: {exc}")


def _run_window(context: dg.AssetExecutionContext) -> tuple[dt.date, dt.date]:
    """The run's partition window; every partition of ``daily_partitions`` for a run without one."""
    if has_window(context):
        return window_bounds(context)
    first, last = daily_partitions.get_first_partition_key(), daily_partitions.get_last_partition_key()
    if first is None or last is None:
        raise dg.Failure("the run has no partition and the daily partitions have none either", allow_retries=False)
    return dt.date.fromisoformat(first), dt.date.fromisoformat(last)


def _with_model_figures(context, warehouse: WarehouseResource, events, cost, first, last) -> Iterator[object]:
    """dbt's events as they stream, each model's materialization with its figures attached first.

    Per model: ``cost/wall_s`` (dbt's own execution time), ``cost/cpu_s`` (CPU of the step's
    process tree, dbt included, since the previous model finished: dbt builds one model at
    a time, so that is this model and the tests run before it), the step's peak memory so
    far, and for tables ``cost/table_bytes`` / ``cost/table_rows``; partitioned models
    also get each day's ``dagster/row_count``. Metadata added before an event is yielded
    is merged into that model's materializations. Streaming (not holding events until dbt
    ends) lets Dagster record them while dbt works on the next model.
    """
    cpu_mark = process_tree_cpu_seconds()
    for event in events:
        key = _materialized_key(context, event)
        if key is not None:
            cpu_now = process_tree_cpu_seconds()
            duration = event.metadata.get("Execution Duration")
            figures = {
                "cost/wall_s": round(float(duration.value), 3) if duration is not None else 0.0,
                "cost/cpu_s": round(cpu_now - cpu_mark, 3),
                "cost/peak_rss_mib": round(cost.peak_rss_bytes / 2**20, 1),
            }
            cpu_mark = cpu_now
            relation = RELATIONS.get(key)
            if relation is not None:
                figures.update(relation_size(warehouse, relation))
            if key in PARTITIONED_MODELS:
                per_day = model_day_counts(warehouse, PARTITIONED_MODELS[key], first, last)
                figures["cost/rows_written"] = sum(d["dagster/row_count"] for d in per_day.values())
                add_partition_metadata(context, per_day, key)
            if context.assets_def.specs_by_key[key].partitions_def is not None:
                add_run_metadata(context, figures, key)  # the step's costs: a fact of the run, not of each day
            else:  # a view or dimension: one materialization per run
                context.add_asset_metadata(figures, asset_key=key)
        yield event


def _failing_tests_not_retried(events: Iterator[object]) -> Iterator[object]:
    """dbt's events, unchanged; a build that failed because tests failed is not retried.

    ``dbt build`` exits with 1 when an ERROR-severity test finds failing rows, and
    dagster-dbt then raises ``DagsterDbtCliRuntimeError``, which the step's ``RetryPolicy``
    would retry three times with backoff, re-running dbt each time for the same verdict. When
    any test reported ``fail`` (the query ran and found rows; its check result, already
    yielded, blocks what depends on it), the error becomes ``dg.Failure(allow_retries=False)``
    naming those tests. Other dbt failures (a model's SQL error, a test that could not run,
    a dropped connection) are raised as they are and retried.
    """
    from dagster_dbt.errors import DagsterDbtCliRuntimeError

    failed_tests: list[str] = []
    try:
        for event in events:
            if isinstance(event, (dg.AssetCheckResult, dg.AssetCheckEvaluation)) and not event.passed:
                status = event.metadata.get("status")
                if getattr(status, "value", status) == "fail":
                    asset = event.asset_key.to_user_string() if event.asset_key is not None else "?"
                    failed_tests.append(f"{asset}:{event.check_name}")
            yield event
    except DagsterDbtCliRuntimeError as exc:
        if not failed_tests:
            raise
        raise dg.Failure(
            description=f"{len(failed_tests)} dbt test(s) failed, so dbt stopped what depends on them: "
            f"{', '.join(failed_tests)}. Not retried: a failing test is a fact about the data; fix it "
            "upstream (or the model) and run again.",
            metadata={"failed_tests": dg.MetadataValue.json(failed_tests)},
            allow_retries=False,
        ) from exc


def relation_size(warehouse: WarehouseResource, relation: str) -> dict[str, int]:
    """``cost/table_bytes`` and ``cost/table_rows`` of a dbt table (views are not measured)."""
    with warehouse.connect() as conn:
        size = first_value(conn.execute("select pg_total_relation_size(%s::regclass)", (relation,)).fetchone())
        rows = first_value(conn.execute(f"select count(*) from {relation}").fetchone())  # name from dbt's manifest
    return {"cost/table_bytes": size, "cost/table_rows": rows}


def _materialized_key(context: dg.AssetExecutionContext, event: object) -> dg.AssetKey | None:
    if isinstance(event, dg.Output):
        return context.asset_key_for_output(event.output_name)
    if isinstance(event, dg.MaterializeResult):
        return event.asset_key
    return None


DBT_ASSETS = [dbt_models]
