"""What `amlkit local` serves of a stack, how it lays a model out, and how it draws a
deployment by traffic weights (no processes here; test_local_mode.py runs them)."""

from __future__ import annotations

import collections
import random
from pathlib import Path
from typing import Any

import httpx
import pytest

from amlkit.local.layout import LocalEndpoint, lay_out_model, local_endpoints
from amlkit.local.router import EndpointRouter
from amlkit.specs import ConfigError, StackSpec, build_stack_spec
from amlkit.specs.project import find_project
from tests.conftest import ROOT


def _spec(tmp_path: Path, deployments: list[dict[str, Any]], **endpoint: Any) -> StackSpec:
    (tmp_path / "code").mkdir(exist_ok=True)
    (tmp_path / "code" / "score.py").write_text("def init(): pass\ndef run(d): return d\n")
    (tmp_path / "model.pkl").write_bytes(b"weights")
    if not (tmp_path / "runtime-image").exists():  # local paths stay inside the project
        (tmp_path / "runtime-image").symlink_to(ROOT / "runtime-image")
    return build_stack_spec(
        {
            "environment": {"name": "loc", "location": "westeurope"},
            "scoring_image": {"context": "runtime-image"},
            "online_endpoints": [{"name": "ep-one", "deployments": deployments, **endpoint}],
        },
        source=tmp_path / "Pulumi.loc.yaml",
    )


def _deployment(name: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "model": {"path": "model.pkl"},
        "code_configuration": {"code": "code", "scoring_script": "score.py"},
        "instance_type": "Standard_DS3_v2",
        "instance_count": 1,
        **extra,
    }


def test_the_dev_stack_serves_its_blue_deployment_with_its_request_settings() -> None:
    (endpoint,) = local_endpoints(find_project(ROOT).load_spec("dev"))
    assert endpoint.name == "amlkit-dev-score"
    assert endpoint.traffic == {"blue": 100}
    (blue,) = endpoint.deployments
    assert endpoint.not_served == ()
    assert blue.code_dir == ROOT / "runtime-image" / "sample" / "onlinescoring"
    assert blue.model_path == ROOT / "runtime-image" / "sample" / "model"
    assert (blue.model_name, blue.model_version) == ("amlkit-sample-classifier", "1")
    assert blue.worker_count == 2
    assert blue.variables == {
        "SCORING_TIMEOUT_MS": "5000",
        "AMLKIT_MAX_CONCURRENT_REQUESTS": "4",
        "AMLKIT_DEPLOYMENT_NAME": "blue",
        "WORKER_COUNT": "2",
    }


def test_deployments_local_mode_cannot_run_are_listed_with_the_reason(tmp_path: Path) -> None:
    spec = _spec(
        tmp_path,
        [
            _deployment("local"),
            {**_deployment("registered"), "model": "azureml:clf:3"},
            _deployment("own-image", environment={"image": "mcr.microsoft.com/azureml/minimal"}),
        ],
    )
    (endpoint,) = local_endpoints(spec)
    assert [d.name for d in endpoint.deployments] == ["local"]
    assert endpoint.reason_not_served("registered") == (
        "model azureml:clf:3 is a registered asset, not a local path"
    )
    assert endpoint.reason_not_served("own-image") == (
        "runs its own image, and local mode has no container engine"
    )
    assert endpoint.names == ["local", "registered", "own-image"]


def test_an_endpoint_the_stack_does_not_hold_is_a_config_error(tmp_path: Path) -> None:
    spec = _spec(tmp_path, [_deployment("blue")])
    with pytest.raises(ConfigError) as caught:
        local_endpoints(spec, ["ep-two"])
    assert str(caught.value) == (
        "--endpoint = ep-two: the stack has no such online endpoint; it has: ep-one"
    )


def test_the_model_is_linked_where_azure_puts_it(tmp_path: Path) -> None:
    spec = _spec(tmp_path, [_deployment("blue", model={"path": "model.pkl", "version": "7"})])
    (blue,) = local_endpoints(spec)[0].deployments
    model_dir = lay_out_model(blue, tmp_path / "run")
    assert model_dir == tmp_path / "run" / "azureml-models" / "blue-model" / "7"
    assert (model_dir / "model.pkl").read_bytes() == b"weights"
    assert (model_dir / "model.pkl").is_symlink()
    (tmp_path / "model.pkl").write_bytes(b"retrained")
    assert lay_out_model(blue, tmp_path / "run") == model_dir  # a second start relinks
    assert (model_dir / "model.pkl").read_bytes() == b"retrained"


def _router(traffic: dict[str, int], seed: int) -> EndpointRouter:
    endpoint = LocalEndpoint("ep", "key", traffic, {}, (), ())
    return EndpointRouter(endpoint, {}, httpx.AsyncClient(), rng=random.Random(seed))


def test_deployments_are_drawn_by_their_traffic_weights() -> None:
    router = _router({"blue": 90, "green": 10, "idle": 0}, seed=1)
    drawn = collections.Counter(router.pick() for _ in range(10_000))
    assert set(drawn) == {"blue", "green"}
    assert 800 <= drawn["green"] <= 1200, drawn  # 1000 ± 90 at 3 sigma
    assert _router({"blue": 0}, seed=1).pick() is None
    assert _router({}, seed=1).pick() is None
