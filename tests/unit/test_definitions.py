"""The single Definitions: every asset carries what the UI and operators rely on."""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
import pytest

from platform_assets.definitions import defs
from platform_assets.partitions import daily_partitions

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
def test_every_asset_backfills_in_a_single_run(key):
    node = GRAPH.get(dg.AssetKey(key))
    assert node.backfill_policy == dg.BackfillPolicy.single_run()
    assert node.partitions_def in (None, daily_partitions)


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
