"""deploy/ecs/dagster.yaml checked offline, with Dagster's config machinery and botocore's models.

* ``run_launcher.config`` against ``dagster_aws.ecs.EcsRunLauncher.config_type()``
  (``dagster._config.process_config`` / ``resolve_to_config_type``), and the whole file with
  ``dagster._core.instance.config.dagster_instance_config`` (every section, every class);
* a launch through ``EcsRunLauncher.launch_run`` against botocore ``Stubber``-backed clients:
  botocore validates each request against the ECS API model before the stub answers, so the
  registered task definition and the RunTask call are well-formed for the real API. No AWS
  account is used; whether the roles, subnets and secrets exist is not checked.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from botocore.stub import Stubber
from dagster._config import process_config, resolve_to_config_type
from dagster._core.code_pointer import ModuleCodePointer
from dagster._core.instance.config import dagster_instance_config
from dagster._core.launcher import LaunchRunContext
from dagster._core.origin import JobPythonOrigin, RepositoryPythonOrigin
from dagster._core.storage.dagster_run import DagsterRun
from dagster._core.test_utils import instance_for_test
from dagster._serdes.config_class import ConfigurableClassData
from dagster_aws.ecs import EcsRunLauncher
from dagster_aws.s3.compute_log_manager import S3ComputeLogManager

ECS_YAML = Path(__file__).resolve().parents[2] / "deploy" / "ecs" / "dagster.yaml"
MEASURED_PEAK_MIB = int(1.45 * 1024)  # 10x and 30x the yearly data (make benchmark, 2026-12-02)
IMAGE = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/platform-assets:abc1234"


@pytest.fixture
def aws_env(monkeypatch):
    """Offline AWS settings plus the variables the file and the launcher read."""
    for name, value in {
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_REGION": "eu-west-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "DAGSTER_POSTGRES_URL": "postgresql://dagster@db.invalid/dagster",
        "PLATFORM_LANDING_URL": "s3://landing/flights",
        "PLATFORM_LAKE_URL": "s3://lake/flights",
        "PLATFORM_EXECUTOR": "in_process",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


@pytest.fixture(scope="module")
def instance_yaml() -> dict[str, Any]:
    return yaml.safe_load(ECS_YAML.read_text())


def launcher_config(instance_yaml) -> dict[str, Any]:
    section = instance_yaml["run_launcher"]
    assert (section["module"], section["class"]) == ("dagster_aws.ecs", "EcsRunLauncher")
    return section["config"]


def test_run_launcher_config_is_valid(instance_yaml, aws_env):
    result = process_config(resolve_to_config_type(EcsRunLauncher.config_type()), launcher_config(instance_yaml))
    assert result.success, [e.message for e in result.errors or []]
    value = result.value
    assert value["use_current_ecs_task_config"] is False
    assert {s["name"] for s in value["secrets"]} >= {"DAGSTER_POSTGRES_URL", "PLATFORM_WAREHOUSE_URL"}
    assert int(value["run_resources"]["memory"]) >= MEASURED_PEAK_MIB


@pytest.mark.parametrize("misspelled", ["run_resource", "use_current_task_config", "secret"])
def test_misspelled_key_fails_validation(instance_yaml, aws_env, misspelled):
    config = dict(launcher_config(instance_yaml))
    correct = {
        "run_resource": "run_resources",
        "use_current_task_config": "use_current_ecs_task_config",
        "secret": "secrets",
    }[misspelled]
    config[misspelled] = config.pop(correct)
    result = process_config(resolve_to_config_type(EcsRunLauncher.config_type()), config)
    assert not result.success


def test_storage_is_dagster_postgres_at_the_exported_url(instance_yaml):
    assert instance_yaml["storage"] == {"postgres": {"postgres_url": {"env": "DAGSTER_POSTGRES_URL"}}}
    # the `storage:` shorthand would conflict with per-storage sections
    assert not {"run_storage", "event_log_storage", "schedule_storage"} & set(instance_yaml)


def test_whole_file_is_a_valid_instance_config(aws_env):
    # Validates every section and every configurable class's config (imports the classes).
    config, _ = dagster_instance_config(str(ECS_YAML.parent), ECS_YAML.name)
    assert config["run_monitoring"]["enabled"] and config["run_retries"]["enabled"]
    assert config["run_coordinator"]["class"] == "QueuedRunCoordinator"


def test_step_logs_go_to_s3(instance_yaml, aws_env):
    # Loaded as Dagster loads it (imports the class, validates its config); nothing is sent to AWS.
    section = instance_yaml["compute_logs"]
    manager = ConfigurableClassData(section["module"], section["class"], yaml.safe_dump(section["config"])).rehydrate()
    assert isinstance(manager, S3ComputeLogManager)


def test_launch_makes_well_formed_ecs_requests(instance_yaml, aws_env):
    config = process_config(resolve_to_config_type(EcsRunLauncher.config_type()), launcher_config(instance_yaml)).value
    launcher = EcsRunLauncher(**config)  # checks run_task_kwargs keys against RunTaskRequest
    ecs = boto3.client("ecs", region_name="eu-west-1")
    launcher.ecs = ecs
    stubber = Stubber(ecs)
    stubber.add_client_error("describe_task_definition", "ClientException", "not found")
    stubber.add_response("register_task_definition", {}, expected_params=None)
    task_arn = "arn:aws:ecs:eu-west-1:123456789012:task/platform-assets/0123"
    stubber.add_response(
        "run_task",
        {"tasks": [{"taskArn": task_arn, "clusterArn": "arn:aws:ecs:eu-west-1:123456789012:cluster/platform-assets"}]},
        expected_params=None,
    )
    recorded: dict[str, dict[str, Any]] = {}
    ecs.meta.events.register(
        "provide-client-params.ecs.*",
        lambda params, model, **_: recorded.__setitem__(model.name, json.loads(json.dumps(params))),
    )
    origin = RepositoryPythonOrigin(
        executable_path="/app/.venv/bin/python",
        code_pointer=ModuleCodePointer("platform_assets.definitions", "defs", None),
        container_image=IMAGE,
    )
    with stubber, instance_for_test() as instance:
        launcher.register_instance(instance)
        run = instance.add_run(
            DagsterRun(
                job_name="daily_flights",
                run_id="0123abcd-0000-4000-8000-000000000000",
                job_code_origin=JobPythonOrigin("daily_flights", origin),
            )
        )
        # Needed to name the task definition family; a test double of the code location.
        run = run._replace(remote_job_origin=_remote_origin())
        launcher.launch_run(LaunchRunContext(dagster_run=run, workspace=None))
        stubber.assert_no_pending_responses()
        assert instance.get_run_by_id(run.run_id).tags["ecs/task_arn"] == task_arn

    task_definition = recorded["RegisterTaskDefinition"]
    (container,) = task_definition["containerDefinitions"]
    assert container["image"] == IMAGE and container["name"] == "run"
    assert {s["name"] for s in container["secrets"]} == {"DAGSTER_POSTGRES_URL", "PLATFORM_WAREHOUSE_URL"}
    env = {e["name"]: e["value"] for e in container["environment"]}
    assert env["PLATFORM_LAKE_URL"] == "s3://lake/flights"
    assert task_definition["memory"] == "3072" and task_definition["cpu"] == "1024"
    assert task_definition["requiresCompatibilities"] == ["FARGATE"]
    assert container["logConfiguration"]["options"]["awslogs-group"] == "/ecs/platform-assets/runs"

    run_task = recorded["RunTask"]
    assert run_task["launchType"] == "FARGATE" and run_task["cluster"] == "platform-assets"
    command = run_task["overrides"]["containerOverrides"][0]["command"]
    assert command[:5] == ["/app/.venv/bin/python", "-m", "dagster", "api", "execute_run"]


def _remote_origin():
    from dagster._core.remote_origin import (
        InProcessCodeLocationOrigin,
        RemoteJobOrigin,
        RemoteRepositoryOrigin,
    )
    from dagster._core.types.loadable_target_origin import LoadableTargetOrigin

    location = InProcessCodeLocationOrigin(
        loadable_target_origin=LoadableTargetOrigin(module_name="platform_assets.definitions"),
        location_name="platform_assets",
    )
    return RemoteJobOrigin(RemoteRepositoryOrigin(location, "__repository__"), "daily_flights")


def test_stubbed_client_still_validates_requests(aws_env):
    # The check above is only worth something if a malformed request fails before the stub.
    from botocore.exceptions import ParamValidationError

    ecs = boto3.client("ecs", region_name="eu-west-1")
    with Stubber(ecs) as stubber:
        stubber.add_response("register_task_definition", {}, expected_params=None)
        with pytest.raises(ParamValidationError):
            ecs.register_task_definition(family="run-x", containerDefinitions=[{"name": "run", "imagee": IMAGE}])
