"""`amlkit local serve` serves a Kubernetes endpoint as it serves a managed one: its
deployments run in amlkit-serve with their request settings, routed by traffic, over
real HTTP on 127.0.0.1."""

from __future__ import annotations

import collections
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.local.local_project import make_project
from tests.local.test_mode import ENV, SCORE, Served, _amlkit, _free_port

pytestmark = pytest.mark.slow

KUBERNETES = {
    "managed_cluster": {"node_pools": [{"vm_size": "Standard_D4s_v5", "count": 3}]},
    "extension": {"allow_insecure_connections": True},
    "compute": {"name": "k8s-compute", "default_instance_type": "cpu-small"},
    "instance_types": [
        {
            "name": "cpu-small",
            "resources": {
                "requests": {"cpu": "500m", "memory": "1Gi"},
                "limits": {"cpu": "2", "memory": "4Gi"},
            },
        }
    ],
}


def _deployment(name: str, **extra: object) -> dict[str, object]:
    return {
        "name": name,
        "model": {"path": "../model", "name": "weights"},
        "code_configuration": {"code": "../code", "scoring_script": "score.py"},
        "resources": {
            "requests": {"cpu": "250m", "memory": "512Mi"},
            "limits": {"cpu": "1", "memory": "1Gi"},
        },
        "scale_settings": {"type": "target_utilization", "min_instances": 2, "max_instances": 4},
        **extra,
    }


ENDPOINT = {
    "name": "ep-k8s",
    "compute": "azureml:k8s-compute",
    "auth_mode": "aml_token",
    "traffic": {"blue": 50, "green": 50},
    "deployments": [
        _deployment(
            "blue",
            environment_variables={"COLOUR": "navy"},
            request_settings={
                "request_timeout_ms": 9000,
                "max_concurrent_requests_per_instance": 2,
            },
        ),
        _deployment("green", instance_type="cpu-small"),
    ],
}


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    project = make_project(
        tmp_path,
        score=SCORE,
        weights="w-k8s",
        stacks={
            "kube": {
                "amlkit:environment": {"name": "kube", "location": "westeurope"},
                "amlkit:kubernetes": KUBERNETES,
                "amlkit:online_endpoints": [ENDPOINT],
            }
        },
    )
    port = _free_port()
    process = subprocess.Popen(
        _amlkit(project, "local", "serve", "--stack", "kube", "--port", str(port)),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=ENV,
    )
    running = Served(process, port)
    try:
        running.wait_for("Serving; press Ctrl-C to stop.")
        yield running
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                process.kill()


def test_a_kubernetes_endpoint_is_served_like_a_managed_one(served: Served) -> None:
    assert set(served.deployment_urls()) == {"blue", "green"}, served.output
    assert "auth on Azure: aml_token; not checked here" in served.output
    with httpx.Client(timeout=10) as client:
        blue = client.post(served.score, json={}, headers={"azureml-model-deployment": "blue"})
        assert blue.status_code == 200, blue.text
        answer = blue.json()
        assert Path(answer.pop("entry_script")).name == "score.py"  # the full path, as on Azure
        assert answer == {
            "deployment": "blue",
            "colour": "navy",
            "weights": "w-k8s",  # the model laid out as Azure lays it out
            "timeout_ms": "9000",  # request settings reach the server
            "max_concurrent": "2",
        }
        seen: collections.Counter[str] = collections.Counter()
        for _ in range(60):
            response = client.post(served.score, json={})
            assert response.status_code == 200
            seen[response.headers["azureml-model-deployment"]] += 1
    # 50/50 over 60 draws: each side 30 ± 12 at 3 sigma
    assert set(seen) == {"blue", "green"} and min(seen.values()) >= 15, seen
