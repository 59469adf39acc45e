"""The single Definitions: every asset carries what the UI and operators rely on."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from platform_assets.definitions import defs
from platform_assets.partitions import backfill_policy_from_env, daily_partitions

GRAPH = defs.resolve_asset_graph()
MATERIALIZABLE = sorted(k.to_user_string() for k in GRAPH.materializable_asset_keys)


def test_graph_has_every_layer():
    expected = {
        "raw_flights",
        "raw_weather",
        "raw_airlines",
        "raw_airports",
        "raw_planes",
        "clean_flights",
        "clean_weather",
        "clean_airlines",
        "clean_airports",
        "clean_planes",
        "flight_daily_metrics",
        "stg_flights",
        "fct_flights",
        "dim_carriers",
        "dim_airports",
        "dim_planes",
        "mart_carrier_daily_performance",
        "mart_weather_delay",
    }
    assert expected <= set(MATERIALIZABLE)


@pytest.mark.parametrize("key", MATERIALIZABLE)
def test_asset_is_documented_and_owned(key):
    node = GRAPH.get(dg.AssetKey(key))
    assert node.description
    assert node.group_name in {"raw", "clean", "aggregate", "staging", "marts"}
    assert node.owners == ["team:data-platform"]
    assert node.kinds
    assert node.code_version
    assert node.metadata.get("dagster/column_schema") is not None


@pytest.mark.parametrize("key", MATERIALIZABLE)
def test_every_asset_backfills_in_a_single_run_by_default(key):
    # PLATFORM_BACKFILL_PARTITIONS_PER_RUN unset (the tests' environment): the CLI's
    # --partition-range needs single_run on every selected asset
    node = GRAPH.get(dg.AssetKey(key))
    assert node.backfill_policy == dg.BackfillPolicy.single_run()
    assert node.partitions_def in (None, daily_partitions)


def test_backfills_run_in_chunks_of_the_configured_days():
    """A fresh process with PLATFORM_BACKFILL_PARTITIONS_PER_RUN=92 (as `make dev` starts the UI)."""
    script = (
        "import json; from platform_assets.definitions import defs; g = defs.resolve_asset_graph(); "
        "print(json.dumps({k.to_user_string(): [g.get(k).partitions_def is not None, "
        "g.get(k).backfill_policy.max_partitions_per_run] for k in g.materializable_asset_keys}))"
    )
    env = {**os.environ, "PLATFORM_BACKFILL_PARTITIONS_PER_RUN": "92"}
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True)
    policies = json.loads(out.stdout.strip().splitlines()[-1])
    assert set(policies) == set(MATERIALIZABLE)
    partitioned = {k for k, (is_partitioned, _) in policies.items() if is_partitioned}
    assert {"raw_flights", "clean_weather", "flight_daily_metrics", "fct_flights", "mart_weather_delay"} <= partitioned
    for key, (is_partitioned, per_run) in policies.items():
        if is_partitioned:
            assert per_run == 92, key  # at most 92 days per run of a backfill
    # the Python reference assets stay single-run (Dagster allows no other policy on an
    # unpartitioned @asset); single_run has no limit (None)
    for key in ("raw_airlines", "clean_planes"):
        assert policies[key] == [False, None], key


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, dg.BackfillPolicy.single_run()),
        ("", dg.BackfillPolicy.single_run()),
        ("0", dg.BackfillPolicy.single_run()),
        ("92", dg.BackfillPolicy.multi_run(92)),
        (" 7 ", dg.BackfillPolicy.multi_run(7)),
    ],
)
def test_backfill_policy_follows_the_variable(monkeypatch, value, expected):
    if value is None:
        monkeypatch.delenv("PLATFORM_BACKFILL_PARTITIONS_PER_RUN", raising=False)
    else:
        monkeypatch.setenv("PLATFORM_BACKFILL_PARTITIONS_PER_RUN", value)
    assert backfill_policy_from_env() == expected


@pytest.mark.parametrize("value", ["-1", "monthly", "3.5"])
def test_a_bad_backfill_setting_names_the_variable(monkeypatch, value):
    monkeypatch.setenv("PLATFORM_BACKFILL_PARTITIONS_PER_RUN", value)
    with pytest.raises(ValueError, match=rf"PLATFORM_BACKFILL_PARTITIONS_PER_RUN='{re.escape(value)}': expected"):
        backfill_policy_from_env()


def test_dbt_sources_are_the_python_assets():
    assert GRAPH.get(dg.AssetKey("stg_flight_daily_metrics")).parent_keys == {dg.AssetKey("flight_daily_metrics")}
    assert GRAPH.get(dg.AssetKey("stg_weather")).parent_keys == {dg.AssetKey("clean_weather")}
    # the only external assets are the landing drops, each the root of its source's raw asset:
    # no dangling dbt source, the lineage is one graph starting at the landing zone
    external = GRAPH.get_all_asset_keys() - GRAPH.materializable_asset_keys
    assert {k.path[0] for k in external} == {"landing"}
    for key in external:
        assert GRAPH.get(key).parent_keys == set()
        assert GRAPH.get(key).child_keys == {dg.AssetKey(f"raw_{key.path[1]}")}
    assert {k.path[1] for k in external} == {
        k.path[0].removeprefix("raw_") for k in GRAPH.get_all_asset_keys() if k.path[0].startswith("raw_")
    }


def test_no_asset_check_is_partitioned():
    """Every check evaluates the run's whole window at once (quality/checks.py, dbt tests), and the
    blocking ones gate the marts for that window: none is declared per partition."""
    assert GRAPH.asset_check_keys
    assert [k for k in GRAPH.asset_check_keys if GRAPH.get(k).partitions_def is not None] == []


def test_dbt_runs_as_one_step_per_run():
    """Every dbt model of the manifest is an asset of one and the same definition, ``dbt_models``."""
    manifest = json.loads(
        (Path(__file__).resolve().parents[2] / "dbt_project" / "target" / "manifest.json").read_text()
    )
    models = {n["name"] for n in manifest["nodes"].values() if n["resource_type"] == "model"}
    assert {"fct_flights", "stg_flights", "dim_carriers"} <= models
    holders = [a for a in defs.assets if isinstance(a, dg.AssetsDefinition) and {k.path[-1] for k in a.keys} & models]
    assert [a.node_def.name for a in holders] == ["dbt_models"]
    assert {k.path[-1] for k in holders[0].keys} >= models  # all of them, in that one step
    assert holders[0].partitions_def == daily_partitions


def test_the_executor_is_chosen_by_the_environment(monkeypatch):
    from platform_assets.executor import platform_executor

    monkeypatch.delenv("PLATFORM_EXECUTOR", raising=False)
    assert platform_executor().name == "in_process"
    monkeypatch.setenv("PLATFORM_EXECUTOR", "multiprocess")
    assert platform_executor().name == "multiprocess"
    monkeypatch.setenv("PLATFORM_EXECUTOR", "threads")
    with pytest.raises(ValueError, match="PLATFORM_EXECUTOR='threads'"):
        platform_executor()
    assert platform_executor("in_process").name == "in_process"  # an explicit kind wins over the variable
    monkeypatch.setenv("PLATFORM_EXECUTOR", "celery")
    assert platform_executor().name == "celery"


def test_celery_workers_and_the_executor_configure_the_same_app():
    """deploy/celery/worker.yaml (the workers) holds the Celery executor's config (the runs)."""
    import yaml

    from platform_assets.executor import CELERY_EXECUTOR_CONFIG

    worker = yaml.safe_load((Path(__file__).resolve().parents[2] / "deploy" / "celery" / "worker.yaml").read_text())[
        "execution"
    ]["config"]
    assert worker == CELERY_EXECUTOR_CONFIG
    # acknowledged after the step: a worker killed mid-step leaves the task to another worker
    assert worker["config_source"]["task_acks_late"] is True


def test_heavy_steps_carry_the_heavy_queue_tag():
    # dbt, and the raw and clean steps of sources declaring `heavy: true` (flights)
    heavy = {"dbt_models", "raw_flights", "clean_flights"}
    for key in MATERIALIZABLE:
        node = GRAPH.get(dg.AssetKey(key))
        tags = node.assets_def.op.tags
        expected = "heavy" if node.key.to_user_string() in heavy or tags.get("dagster_dbt/select") else None
        assert tags.get("dagster-celery/queue") == expected, key
