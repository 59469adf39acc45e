"""Every deployment gives its Dagster processes the event-log settings the local .env gives."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from platform_assets.local_instance import EVENT_LOG_SETTINGS

ROOT = Path(__file__).resolve().parents[2]


def _dockerfile_env() -> dict[str, str]:
    text = (ROOT / "Dockerfile").read_text()
    block = re.search(r"^ENV (.*?)(?<!\\)\n", text, re.S | re.M)
    assert block, "the Dockerfile sets its environment in one ENV instruction"
    pairs = re.findall(r"([A-Z_]+)=(\S+)", block.group(1))
    return dict(pairs)


def test_the_image_sets_dagsters_event_log_settings():
    env = _dockerfile_env()
    assert {k: env.get(k) for k in EVENT_LOG_SETTINGS} == dict(EVENT_LOG_SETTINGS)


def test_the_helm_values_set_them_for_webserver_daemon_and_runs():
    values = yaml.safe_load((ROOT / "deploy/helm/values.yaml").read_text())
    for role in ("dagsterWebserver", "dagsterDaemon"):
        assert {k: values[role]["env"].get(k) for k in EVENT_LOG_SETTINGS} == dict(EVENT_LOG_SETTINGS), role
    run_env = dict(line.split("=", 1) for line in values["runLauncher"]["config"]["k8sRunLauncher"]["envVars"])
    assert {k: run_env.get(k) for k in EVENT_LOG_SETTINGS} == dict(EVENT_LOG_SETTINGS)


def test_every_instance_limits_runs_with_dagsters_concurrency_settings():
    for path in ("dagster.yaml", "deploy/docker/dagster.yaml", "deploy/ecs/dagster.yaml"):
        config = yaml.safe_load((ROOT / path).read_text())
        assert config["concurrency"]["runs"]["max_concurrent_runs"] == 2, path
    # the project: one run writing the warehouse at a time (the `warehouse` pool, per run); the
    # Docker stack and ECS run two writers side by side on disjoint windows (their container test)
    project = yaml.safe_load((ROOT / "dagster.yaml").read_text())
    assert project["concurrency"]["pools"] == {"granularity": "run", "default_limit": 1}
    for path in ("deploy/docker/dagster.yaml", "deploy/ecs/dagster.yaml"):
        assert "pools" not in yaml.safe_load((ROOT / path).read_text())["concurrency"], path
        # Dagster refuses a limit in both places; the run coordinator keeps only its polling
        assert "max_concurrent_runs" not in config["run_coordinator"]["config"], path
