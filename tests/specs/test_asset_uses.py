"""Data-collector assets named, versioned and placed as `az ml` registers them."""

from __future__ import annotations

from typing import Any

import pytest

from amlkit.specs import OnlineDeploymentSpec
from amlkit.specs.asset_uses import asset_use, check_registrations, collection_assets


def _deployment(name: str, collections: dict[str, Any]) -> OnlineDeploymentSpec:
    return OnlineDeploymentSpec.model_validate(
        {
            "name": name,
            "model": "azureml:m:1",
            "environment": "azureml:e:1",
            "instance_type": "Standard_DS3_v2",
            "instance_count": 1,
            "data_collector": {"collections": collections},
        }
    )


def test_defaults_are_az_mls_and_a_data_block_replaces_each() -> None:
    deployment = _deployment(
        "blue",
        {
            "model_inputs": {"enabled": True},
            "model_outputs": {"enabled": True, "data": {"path": "azureml://datastores/x/paths/y"}},
            "request": {"enabled": False, "data": {"name": "req", "version": "7"}},
        },
    )
    found = {a.collection: (a.name, a.version, a.path) for a in collection_assets("ep", deployment)}
    base = "azureml://datastores/workspaceblobstore/paths/modelDataCollector/ep/blue"
    assert found == {
        "model_inputs": ("ep-blue-model_inputs", "1", f"{base}/model_inputs"),
        "model_outputs": ("ep-blue-model_outputs", "1", "azureml://datastores/x/paths/y"),
        "request": ("req", "7", f"{base}/request"),
    }


def test_one_data_version_at_two_paths_is_refused() -> None:
    shared = {"name": "collected", "version": "1"}
    blue = _deployment("blue", {"model_inputs": {"data": {**shared, "path": "azureml://a"}}})
    green = _deployment("green", {"model_inputs": {"data": {**shared, "path": "azureml://b"}}})
    uses = dict([asset_use("online", "ep", blue), asset_use("online", "ep", green)])
    with pytest.raises(ValueError, match=r"data collected:1 is registered by .*'blue'.* and by"):
        check_registrations(uses)
    same = _deployment("green", {"model_inputs": {"data": {**shared, "path": "azureml://a"}}})
    check_registrations(dict([asset_use("online", "ep", blue), asset_use("online", "ep", same)]))
