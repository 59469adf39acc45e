"""The Celery path on Kubernetes (deploy/helm/values-celery.yaml and celery-workers.yaml), offline.

No cluster: the worker Deployments are validated against the Kubernetes OpenAPI schema
(``kubernetes_validate``, strict), and the run Job that dagster-k8s' ``K8sRunLauncher`` builds
from values.yaml with the overlay applied (Helm's merge: maps merged, lists replaced) is
checked to run the Celery executor; the workers listen on exactly the queues the steps are
tagged with.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from dagster_k8s import job as k8s_job

from platform_assets.executor import HEAVY_STEP_TAGS
from tests.deploy.test_k8s_offline import K8S_VERSION, VALUES_PATH, run_container, submitted_job

ROOT = Path(__file__).resolve().parents[2]
OVERLAY_PATH = ROOT / "deploy" / "helm" / "values-celery.yaml"
WORKERS_PATH = ROOT / "deploy" / "helm" / "celery-workers.yaml"


def helm_merge(base: Any, overlay: Any) -> Any:
    """Helm's merge of two values files: maps merged key by key, anything else replaced."""
    if isinstance(base, dict) and isinstance(overlay, dict):
        merged = copy.deepcopy(base)
        for key, value in overlay.items():
            merged[key] = helm_merge(base.get(key), value) if key in base else copy.deepcopy(value)
        return merged
    return copy.deepcopy(overlay)


@pytest.fixture(scope="module")
def values() -> dict[str, Any]:
    return yaml.safe_load(VALUES_PATH.read_text())


@pytest.fixture(scope="module")
def celery_values(values) -> dict[str, Any]:
    return helm_merge(values, yaml.safe_load(OVERLAY_PATH.read_text()))


@pytest.fixture(scope="module")
def workers() -> list[dict[str, Any]]:
    return list(yaml.safe_load_all(WORKERS_PATH.read_text()))


def _container(deployment: dict[str, Any]) -> dict[str, Any]:
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    return container


def test_the_worker_deployments_are_valid_kubernetes(workers):
    assert [w["kind"] for w in workers] == ["Deployment", "Deployment"]
    for deployment in workers:
        assert kubernetes_validate.validate(deployment, desired_version=K8S_VERSION, strict=True)


def test_workers_listen_on_the_queues_the_steps_are_tagged_with(workers):
    queues = {}
    for deployment in workers:
        command = _container(deployment)["command"]
        assert command[:5] == ["dagster-celery", "worker", "start", "-A", "dagster_celery.app"]
        queues[command[command.index("-q") + 1]] = deployment["spec"]["replicas"]
    assert set(queues) == {"dagster", HEAVY_STEP_TAGS["dagster-celery/queue"]}
    assert all(replicas >= 1 for replicas in queues.values())


def test_workers_use_the_config_the_image_ships(workers):
    dockerfile = (ROOT / "Dockerfile").read_text()
    for deployment in workers:
        command = _container(deployment)["command"]
        path = command[command.index("-y") + 1]
        assert path == "/app/deploy/celery/worker.yaml"
        assert f"COPY deploy/celery/worker.yaml {path}" in dockerfile


def test_workers_reach_the_runs_instance_and_data_as_non_root(values, workers):
    assert _container(workers[0])["env"] == _container(workers[1])["env"]
    for deployment in workers:
        container = _container(deployment)
        env = {e["name"]: e for e in container["env"]}
        # the step's instance is the run's: dagster-postgres reads the password from this variable
        assert env["DAGSTER_PG_PASSWORD"]["valueFrom"]["secretKeyRef"] == {
            "name": values["global"]["postgresqlSecretName"],
            "key": k8s_job.DAGSTER_PG_PASSWORD_SECRET_KEY,
        }
        secrets = [s["name"] for s in values["runLauncher"]["config"]["k8sRunLauncher"]["envSecrets"]]
        assert [e["secretRef"]["name"] for e in container["envFrom"]] == secrets
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"] == values["dagsterWebserver"]["podSecurityContext"]
        assert container["securityContext"] == values["dagsterWebserver"]["securityContext"]


def test_the_overlay_makes_run_pods_hand_their_steps_to_celery(values, celery_values):
    container = run_container(submitted_job(celery_values))
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["PLATFORM_EXECUTOR"] == "celery"
    # the other run settings survive Helm's list replacement
    base_vars = values["runLauncher"]["config"]["k8sRunLauncher"]["envVars"]
    assert {v for v in base_vars if not v.startswith("PLATFORM_EXECUTOR=")} <= {f"{k}={v}" for k, v in env.items()}
    assert celery_values["runLauncher"]["type"] == "K8sRunLauncher"
    assert celery_values["dagster-user-deployments"] == values["dagster-user-deployments"]
