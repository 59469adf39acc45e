"""The Helm values (deploy/helm/values.yaml) and the run Job they make, checked offline.

No cluster and no ``helm``: (a) holds invariants of the values themselves; (b) has
dagster-k8s' own ``K8sRunLauncher`` build the Job it would submit for a run of our code
location, from the ``run_launcher`` config the chart renders from these values, and validates
that Job against the Kubernetes OpenAPI schema shipped by ``kubernetes_validate`` (strict).

dagster-k8s code relied on (0.29.x):

* ``dagster_k8s.launcher.K8sRunLauncher.config_type`` (= ``DagsterK8sJobConfig.config_type_run_launcher``),
  checked with ``dagster._config.process_config``, then ``K8sRunLauncher(**config)``;
* ``K8sRunLauncher.launch_run`` -> ``_launch_k8s_job_with_args``, which calls
  ``K8sContainerContext.create_for_run`` (run launcher fields and ``run_k8s_config`` into a
  ``UserDefinedDagsterK8sConfig``), ``K8sContainerContext.get_k8s_job_config`` (job image from the
  code location's ``container_image``, ``dagster_home``, ``instance_config_map``,
  ``postgres_password_secret``) and ``dagster_k8s.job.construct_dagster_k8s_job(...,
  component="run_worker")`` with ``<python> -m dagster api execute_run <serialized>``;
* the Kubernetes batch API is a mock that records the ``V1Job`` body, serialized with
  ``kubernetes.client.ApiClient().sanitize_for_serialization``.

The chart side (``helm/dagster/templates/helpers/instance/_run-launcher.tpl`` and the
user-deployments ``k8sContainerContext`` helper, chart 1.13.x) is mirrored by
:func:`chart_run_launcher_config`; that mapping is ours, not executed Helm.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any
from unittest import mock

import kubernetes
import kubernetes_validate
import pytest
import yaml
from dagster._config import process_config, resolve_to_config_type
from dagster._core.code_pointer import ModuleCodePointer
from dagster._core.launcher import LaunchRunContext
from dagster._core.origin import JobPythonOrigin, RepositoryPythonOrigin
from dagster._core.storage.dagster_run import DagsterRun
from dagster._core.test_utils import instance_for_test
from dagster_k8s import job as k8s_job
from dagster_k8s import launcher as k8s_launcher
from dagster_k8s.container_context import K8sContainerContext
from dagster_k8s.job import UserDefinedDagsterK8sConfig

VALUES_PATH = Path(__file__).resolve().parents[2] / "deploy" / "helm" / "values.yaml"
RELEASE = "dagster"
NAMESPACE = "dagster"
MEASURED_PEAK_BYTES = int(1.45 * 2**30)  # 10x and 30x the yearly data, summed RSS (make benchmark, 2026-12-02)
K8S_VERSION = kubernetes_validate.utils.latest_version()

_SUFFIX = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "k": 10**3, "M": 10**6, "G": 10**9}


def to_bytes(quantity: str | int) -> int:
    text = str(quantity)
    for suffix, factor in sorted(_SUFFIX.items(), key=lambda kv: -len(kv[0])):
        if text.endswith(suffix):
            return int(float(text[: -len(suffix)]) * factor)
    return int(text)


@pytest.fixture(scope="module")
def values() -> dict[str, Any]:
    return yaml.safe_load(VALUES_PATH.read_text())


def user_deployment(values: dict[str, Any]) -> dict[str, Any]:
    (deployment,) = values["dagster-user-deployments"]["deployments"]
    return deployment


def run_k8s(values: dict[str, Any]) -> dict[str, Any]:
    return values["runLauncher"]["config"]["k8sRunLauncher"]["runK8sConfig"]


# ---------------------------------------------------------------------------------------------
# (a) invariants of the values


def test_user_deployment_serves_our_module_from_our_image(values):
    deployment = user_deployment(values)
    assert values["dagster-user-deployments"]["enabled"] is True
    assert deployment["image"]["repository"] == "platform-assets"
    assert deployment["image"]["tag"]  # a placeholder to replace, never empty (chart default)
    args = deployment.get("codeServerArgs") or deployment.get("dagsterApiGrpcArgs")
    assert args[args.index("-m") + 1] == "platform_assets.definitions"
    assert deployment["port"] == 4000
    assert {"name": "platform-assets-env"} in deployment["envSecrets"]
    # The webserver's workspace names the location as workspace.yaml does.
    servers = values["dagsterWebserver"]["workspace"]["servers"]
    assert servers == [{"host": deployment["name"], "port": 4000, "name": "platform_assets"}]


def test_run_launcher_and_external_postgres(values):
    assert values["runLauncher"]["type"] == "K8sRunLauncher"
    assert values["postgresql"]["enabled"] is False
    assert values["postgresql"]["postgresqlHost"]
    assert values["global"]["postgresqlSecretName"]
    assert values["generatePostgresqlPasswordSecret"] is False
    assert "postgresqlPassword" not in values["postgresql"]


def test_run_pod_memory_covers_measured_peak(values):
    resources = run_k8s(values)["containerConfig"]["resources"]
    request = to_bytes(resources["requests"]["memory"])
    limit = to_bytes(resources["limits"]["memory"])
    assert request >= MEASURED_PEAK_BYTES
    assert limit >= request


def test_code_server_config_is_not_merged_into_runs(values):
    # With it on, the code server's 1 GiB limit would replace the run sizing (see test below).
    assert user_deployment(values)["includeConfigInLaunchedRuns"]["enabled"] is False


def test_ui_backfills_run_in_bounded_chunks(values):
    # The code server loads the definitions the webserver and the daemon use: its environment
    # decides the backfill policy, so a backfill launched from the UI runs as chunks of 92 days.
    env = {e["name"]: e["value"] for e in user_deployment(values)["env"]}
    assert env["PLATFORM_BACKFILL_PARTITIONS_PER_RUN"] == "92"


def test_daemon_monitors_retries_and_queues(values):
    daemon = values["dagsterDaemon"]
    assert daemon["enabled"] and daemon["runMonitoring"]["enabled"] and daemon["runRetries"]["enabled"]
    assert daemon["runRetries"]["maxRetries"] >= 1
    assert daemon["runCoordinator"]["type"] == "QueuedRunCoordinator"
    assert daemon["runCoordinator"]["config"]["queuedRunCoordinator"]["maxConcurrentRuns"] >= 1


@pytest.mark.parametrize(
    "path",
    [
        ("dagsterWebserver",),
        ("dagsterDaemon",),
        ("dagster-user-deployments", "deployments", 0),
    ],
)
def test_chart_pods_run_as_non_root(values, path):
    section: Any = values
    for key in path:
        section = section[key]
    assert section["podSecurityContext"]["runAsNonRoot"] is True
    assert section["podSecurityContext"]["runAsUser"] == 10001
    assert section["securityContext"]["allowPrivilegeEscalation"] is False


def test_run_pods_run_as_non_root(values):
    config = run_k8s(values)
    assert config["podSpecConfig"]["securityContext"]["runAsNonRoot"] is True
    assert config["podSpecConfig"]["securityContext"]["runAsUser"] == 10001
    assert config["containerConfig"]["securityContext"]["runAsNonRoot"] is True


# ---------------------------------------------------------------------------------------------
# (b) the Job K8sRunLauncher would submit


def _fullname() -> str:
    # dagster.fullname: the release name when it contains the chart name.
    return RELEASE if "dagster" in RELEASE else f"{RELEASE}-dagster"


def _image(image: dict[str, Any]) -> str:
    return f"{image['repository']}:{image['tag']}"


def chart_run_launcher_config(values: dict[str, Any]) -> dict[str, Any]:
    """``run_launcher.config`` as ``_run-launcher.tpl`` (``dagsterYaml.runLauncher.k8s``) renders it."""
    k8s = values["runLauncher"]["config"]["k8sRunLauncher"]
    config: dict[str, Any] = {
        "load_incluster_config": k8s.get("loadInclusterConfig", True),
        "job_namespace": k8s.get("jobNamespace") or NAMESPACE,
        "image_pull_policy": k8s["imagePullPolicy"],
        "service_account_name": values.get("global", {}).get("serviceAccountName") or _fullname(),
        "dagster_home": values["global"]["dagsterHome"],
        "instance_config_map": f"{_fullname()}-instance",
        "postgres_password_secret": values["global"].get("postgresqlSecretName") or f"{_fullname()}-postgresql-secret",
    }
    if "image" in k8s:
        config["job_image"] = _image(k8s["image"])
    if k8s.get("envSecrets"):
        config["env_secrets"] = [s["name"] for s in k8s["envSecrets"] if "name" in s]
    if k8s.get("envConfigMaps"):
        config["env_config_maps"] = [c["name"] for c in k8s["envConfigMaps"] if "name" in c]
    for key, name in [
        ("envVars", "env_vars"),
        ("volumeMounts", "volume_mounts"),
        ("volumes", "volumes"),
        ("labels", "labels"),
        ("resources", "resources"),
        ("securityContext", "security_context"),
    ]:
        if k8s.get(key):
            config[name] = copy.deepcopy(k8s[key])
    run_k8s_config = k8s.get("runK8sConfig") or {}
    if run_k8s_config:
        config["run_k8s_config"] = {
            snake: copy.deepcopy(run_k8s_config[camel])
            for camel, snake in [
                ("containerConfig", "container_config"),
                ("podSpecConfig", "pod_spec_config"),
                ("podTemplateSpecMetadata", "pod_template_spec_metadata"),
                ("jobSpecConfig", "job_spec_config"),
                ("jobMetadata", "job_metadata"),
            ]
            if run_k8s_config.get(camel)
        }
    return config


def code_server_container_context(values: dict[str, Any]) -> dict[str, Any]:
    """The container context the user-deployments chart attaches to the code location when
    ``includeConfigInLaunchedRuns`` is on (``dagsterUserDeployments.k8sContainerContext``)."""
    deployment = user_deployment(values)
    k8s: dict[str, Any] = {
        "image_pull_policy": deployment["image"]["pullPolicy"],
        "env_config_maps": [f"{_fullname()}-{deployment['name']}-user-env"],
        "namespace": NAMESPACE,
        "service_account_name": f"{_fullname()}-user-deployments",
        "run_k8s_config": {"pod_spec_config": {"automount_service_account_token": True}},
    }
    if deployment.get("envSecrets"):
        k8s["env_secrets"] = [s["name"] for s in deployment["envSecrets"]]
    if deployment.get("resources"):
        k8s["resources"] = copy.deepcopy(deployment["resources"])
    return {"k8s": k8s}


def processed_launcher_config(values: dict[str, Any]) -> dict[str, Any]:
    config_type = resolve_to_config_type(k8s_launcher.K8sRunLauncher.config_type())
    result = process_config(config_type, chart_run_launcher_config(values))
    assert result.success, [error.message for error in result.errors or []]
    return dict(result.value)


def submitted_job(values: dict[str, Any], container_context: dict[str, Any] | None = None) -> dict[str, Any]:
    """Launch a run through K8sRunLauncher against a recording mock of the batch API and
    return the Job manifest it submitted."""
    config = processed_launcher_config(values)
    batch_api = mock.MagicMock()
    # In-cluster config is loaded in the pod; here nothing is loaded and no API is called.
    with mock.patch.object(k8s_launcher, "load_kubernetes_config"):
        launcher = k8s_launcher.K8sRunLauncher(
            **config, k8s_client_batch_api=batch_api, k8s_client_core_api=mock.MagicMock()
        )
    repository_origin = RepositoryPythonOrigin(
        executable_path="/app/.venv/bin/python",
        code_pointer=ModuleCodePointer("platform_assets.definitions", "defs", None),
        # What the code server reports from DAGSTER_CURRENT_IMAGE (set by the chart).
        container_image=_image(user_deployment(values)["image"]),
        container_context=container_context,
    )
    with instance_for_test() as instance:
        launcher.register_instance(instance)
        run = instance.add_run(
            DagsterRun(
                job_name="daily_flights",
                run_id="0123abcd-0000-4000-8000-000000000000",
                job_code_origin=JobPythonOrigin("daily_flights", repository_origin),
            )
        )
        launcher.launch_run(LaunchRunContext(dagster_run=run, workspace=None))
    (call,) = batch_api.create_namespaced_job.call_args_list
    assert call.kwargs["namespace"] == NAMESPACE
    job = call.kwargs["body"]
    assert isinstance(job, kubernetes.client.V1Job)
    return kubernetes.client.ApiClient().sanitize_for_serialization(job)


@pytest.fixture(scope="module")
def manifest(values) -> dict[str, Any]:
    return submitted_job(values)


def run_container(manifest: dict[str, Any]) -> dict[str, Any]:
    (container,) = manifest["spec"]["template"]["spec"]["containers"]
    return container


def test_chart_rendered_launcher_config_is_valid_for_k8s_run_launcher(values):
    config = processed_launcher_config(values)
    assert config["env_secrets"] == ["platform-assets-env"]
    assert config["postgres_password_secret"] == values["global"]["postgresqlSecretName"]


def test_run_job_is_valid_kubernetes(manifest):
    assert kubernetes_validate.validate(manifest, desired_version=K8S_VERSION, strict=True)


def test_run_job_carries_image_command_resources_and_non_root(values, manifest):
    container = run_container(manifest)
    pod = manifest["spec"]["template"]["spec"]
    assert manifest["metadata"]["labels"]["app.kubernetes.io/component"] == "run_worker"
    assert container["image"] == "platform-assets:" + str(user_deployment(values)["image"]["tag"])
    assert container["imagePullPolicy"] == "IfNotPresent"
    # ExecuteRunArgs.get_command_args: the code server's interpreter (the image's venv).
    assert container["args"][:5] == ["/app/.venv/bin/python", "-m", "dagster", "api", "execute_run"]
    assert container["resources"] == run_k8s(values)["containerConfig"]["resources"]
    assert to_bytes(container["resources"]["requests"]["memory"]) >= MEASURED_PEAK_BYTES
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == 10001
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert {"secretRef": {"name": "platform-assets-env"}} in container["envFrom"]
    env = {e["name"]: e for e in container["env"]}
    assert env["DAGSTER_HOME"]["value"] == values["global"]["dagsterHome"]
    assert env["DAGSTER_PG_PASSWORD"]["valueFrom"]["secretKeyRef"] == {
        "name": values["global"]["postgresqlSecretName"],
        "key": k8s_job.DAGSTER_PG_PASSWORD_SECRET_KEY,
    }
    assert env["PLATFORM_EXECUTOR"]["value"] == "in_process"


def test_strict_validation_rejects_an_unknown_field(manifest):
    broken = copy.deepcopy(manifest)
    run_container(broken)["memoryLimit"] = "3Gi"  # not a Container field
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, desired_version=K8S_VERSION, strict=True)


def test_misspelled_launcher_key_fails_dagster_config():
    config_type = resolve_to_config_type(k8s_launcher.K8sRunLauncher.config_type())
    result = process_config(
        config_type,
        {"service_account_name": "x", "instance_config_map": "y", "dagster_home": "/h", "env_secret": ["z"]},
    )
    assert not result.success


def test_code_server_context_would_override_run_sizing(values):
    """Why includeConfigInLaunchedRuns is off: K8sContainerContext.create_for_run deep-merges the
    code location's context over the launcher's, so its resources win."""
    merged = submitted_job(values, container_context=code_server_container_context(values))
    resources = run_container(merged)["resources"]
    assert resources["limits"]["memory"] == user_deployment(values)["resources"]["limits"]["memory"]
    assert to_bytes(resources["requests"]["memory"]) < MEASURED_PEAK_BYTES


def test_container_context_merge_matches_launcher_mapping(values):
    # The same mapping through the public constructor, without a launcher: request and limit
    # land in the user-defined container config the Job is built from.
    run_k8s_config = chart_run_launcher_config(values)["run_k8s_config"]
    context = K8sContainerContext(run_k8s_config=UserDefinedDagsterK8sConfig.from_dict(run_k8s_config))
    resources = context.run_k8s_config.container_config["resources"]
    assert resources == run_k8s(values)["containerConfig"]["resources"]
    assert to_bytes(resources["requests"]["memory"]) >= MEASURED_PEAK_BYTES


# ---------------------------------------------------------------------------------------------
# (c) step logs: the chart's computeLogManager values, as its compute-log-manager helper renders them

#: chart ``computeLogManager.config.s3ComputeLogManager`` key -> S3ComputeLogManager config key
#: (``helpers/instance/_compute-log-manager.tpl``, chart 1.13.x; mirrored, not executed Helm)
S3_COMPUTE_LOG_KEYS = {
    "bucket": "bucket",
    "localDir": "local_dir",
    "prefix": "prefix",
    "useSsl": "use_ssl",
    "verify": "verify",
    "verifyCertPath": "verify_cert_path",
    "endpointUrl": "endpoint_url",
    "skipEmptyFiles": "skip_empty_files",
    "uploadInterval": "upload_interval",
    "uploadExtraArgs": "upload_extra_args",
    "showUrlOnly": "show_url_only",
    "region": "region",
}


def test_step_logs_go_to_s3_so_the_webserver_can_show_a_deleted_run_pods_logs(values, monkeypatch):
    from dagster._serdes.config_class import ConfigurableClassData
    from dagster_aws.s3.compute_log_manager import S3ComputeLogManager

    section = values["computeLogManager"]
    assert section["type"] == "S3ComputeLogManager"
    chart = section["config"]["s3ComputeLogManager"]
    assert set(chart) <= set(S3_COMPUTE_LOG_KEYS), (
        f"keys the chart does not render: {set(chart) - set(S3_COMPUTE_LOG_KEYS)}"
    )
    config = {S3_COMPUTE_LOG_KEYS[k]: v for k, v in chart.items()}
    assert config["bucket"] and config.get("prefix")
    for name, value in {
        "AWS_ACCESS_KEY_ID": "offline",
        "AWS_SECRET_ACCESS_KEY": "offline",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
    }.items():
        monkeypatch.setenv(name, value)
    # Loaded as Dagster loads the rendered dagster.yaml (imports the class, validates its config);
    # building the manager sends nothing.
    manager = ConfigurableClassData(
        "dagster_aws.s3.compute_log_manager", "S3ComputeLogManager", yaml.safe_dump(config)
    ).rehydrate()
    assert isinstance(manager, S3ComputeLogManager)
