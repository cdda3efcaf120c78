"""Types and ranges as Azure has them: every number strict and bounded, regions from
Azure's list, names unique where Azure needs them unique, and every field either sent
or refused with the reason."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from pydantic import BaseModel

from amlkit.specs import ConfigError, StackSpec
from amlkit.specs.cli_yaml import MODELS
from amlkit.specs.regions import azure_regions
from tests.specs.test_rules import batch, deployment, online

Mutation = Callable[[dict[str, Any]], object]
Problems = Callable[[Mutation], list[str]]


def _numbers(schema: Any, path: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every int, bool and float schema in a pydantic core schema."""
    if isinstance(schema, dict):
        if schema.get("type") in ("int", "bool", "float"):
            yield path, schema
        for key, value in schema.items():
            yield from _numbers(value, f"{path}/{key}")
    elif isinstance(schema, list):
        for index, value in enumerate(schema):
            yield from _numbers(value, f"{path}[{index}]")


@pytest.mark.parametrize("model", [StackSpec, *MODELS.values()], ids=lambda m: m.__name__)
def test_every_number_is_strict_and_bounded(model: type[BaseModel]) -> None:
    found = list(_numbers(model.__pydantic_core_schema__, model.__name__))
    assert found
    loose = [path for path, s in found if s.get("strict") is not True]
    unbounded = [path for path, s in found if s["type"] != "bool" and "le" not in s]
    assert loose == [] and unbounded == []


def test_the_region_list_is_azure_s() -> None:
    regions = azure_regions()
    assert {"westeurope", "eastus2", "swedencentral", "chinanorth3", "usgovvirginia"} <= regions
    assert "mars" not in regions and len(regions) == 68
    from importlib import resources

    data = json.loads(resources.files("amlkit.specs").joinpath("regions.json").read_text())
    assert data["retrieved"] and all(cloud["source"] for cloud in data["clouds"].values())


def _set(target: Callable[[dict[str, Any]], dict[str, Any]], **fields: Any) -> Mutation:
    return lambda v: target(v).update(fields)


def env(v: dict[str, Any]) -> dict[str, Any]:
    environment: dict[str, Any] = v["environment"]
    return environment


CASES: list[tuple[str, Mutation, str]] = [
    ("bool for a percent", _set(online, traffic={"blue": True, "green": 0}), "traffic.blue = True"),
    ("float for a percent", _set(online, traffic={"blue": 90.0, "green": 10}), "must be a whole"),
    ("string for a count", _set(deployment, instance_count="3"), "instance_count = '3'"),
    ("number for a flag", _set(env, protect=1), "environment.protect = 1: must be true or false"),
    ("text for a flag", _set(env, protect="yes"), "must be true or false"),
    (
        "int32 overflow",
        lambda v: batch(v)["deployments"][0].update({"settings": {"mini_batch_size": 2**31}}),
        "less than or equal to 2147483647",
    ),
    (
        "a bool as sampling rate",
        _set(deployment, data_collector={"sampling_rate": True}),
        "must be a number",
    ),
    ("a region that is not", _set(env, location="westeurop"), "did you mean 'westeurope'?"),
    (
        "a compute region",
        lambda v: v["compute"][0].update({"location": "mars"}),
        "compute[cpu-cluster].location = 'mars': is not an Azure region",
    ),
    (
        "one tag twice by case",
        _set(env, tags={"Owner": "a", "owner": "b"}),
        "tags 'Owner' and 'owner' are one tag to Azure",
    ),
    (
        "scale settings Azure would drop",
        _set(deployment, scale_settings={"type": "default", "max_instances": 5}),
        "max_instances: only `type: target_utilization` takes these",
    ),
    (
        "data collector writing to a local folder",
        _set(
            deployment,
            data_collector={
                "collections": {"model_inputs": {"enabled": "true", "data": {"path": "collected/"}}}
            },
        ),
        "data.path ('collected/'): give a datastore URI",
    ),
    (
        "file name with summary only",
        lambda v: v["batch_endpoints"][0]["deployments"][0].update(
            {"settings": {"output_action": "summary_only", "output_file_name": "x.csv"}}
        ),
        "only `output_action: append_row` writes a file",
    ),
    (
        "two instance counts",
        lambda v: v["batch_endpoints"][0]["deployments"][0].update(
            {"resources": {"instance_count": 2}, "settings": {"instance_count": 3}}
        ),
        "settings.instance_count (3) and resources.instance_count (2) disagree",
    ),
    (
        "a file name with a slash",
        lambda v: v["batch_endpoints"][0]["deployments"][0].update(
            {"settings": {"output_file_name": "../x.csv"}}
        ),
        "must be a plain file name",
    ),
    (
        "a Kubernetes schema on a managed endpoint",
        _set(
            online,
            **{
                "$schema": "https://azuremlschemas.azureedge.net/latest/kubernetesOnlineEndpoint.schema.json"
            },
        ),
        "$schema says a kubernetes endpoint but it is managed",
    ),
    (
        "a managed schema with kubernetes type",
        _set(
            deployment,
            type="kubernetes",
            **{
                "$schema": "https://azuremlschemas.azureedge.net/latest/managedOnlineDeployment.schema.json"
            },
        ),
        "$schema says a managed deployment but type is 'kubernetes'",
    ),
    (
        "a Kubernetes deployment schema with no type",
        _set(
            lambda v: deployment(v, 1),
            **{
                "$schema": "https://azuremlschemas.azureedge.net/latest/kubernetesOnlineDeployment.schema.json"
            },
        ),
        "deployment 'green' is kubernetes but endpoint 'test-score' is managed",
    ),
    (
        "a script climbing out",
        _set(deployment, code_configuration={"code": "code", "scoring_script": "../code/score.py"}),
        "climbs out of its folder",
    ),
    (
        "an absolute model",
        _set(deployment, model={"path": "/etc"}),
        "must be a path relative to the file that names it",
    ),
    (
        "a model from the home folder",
        _set(deployment, model={"path": "~/model"}),
        "must be a path relative",
    ),
    (
        "a Dockerfile outside its context",
        lambda v: v["scoring_image"].update({"dockerfile": "../Dockerfile"}),
        "climbs out of its folder",
    ),
]


@pytest.mark.parametrize(("case", "mutate", "says"), CASES, ids=[c[0] for c in CASES])
def test_refused(problems: Problems, case: str, mutate: Mutation, says: str) -> None:
    lines = problems(mutate)
    assert any(says in line for line in lines), lines


def test_yaml_numbers_still_fill_text_fields(build: Callable[[Mutation | None], StackSpec]) -> None:
    spec = build(
        lambda v: (
            deployment(v).update(
                {"model": {"path": "model", "version": 2}, "environment_variables": {"N": 2}}
            ),
        )
    )
    blue = spec.online_endpoints[0].deployments[0]
    assert not isinstance(blue.model, str) and blue.model is not None
    assert blue.model.version == "2"  # CLI v2 reads `version: 2` as text
    assert blue.environment_variables == {"N": "2"}  # a container sees text


def test_environment_variable_values_are_sent_as_written(
    build: Callable[[Mutation | None], StackSpec],
) -> None:
    spec = build(lambda v: deployment(v).update({"environment_variables": {"PAD": "  x "}}))
    assert spec.online_endpoints[0].deployments[0].environment_variables == {"PAD": "  x "}


def test_a_nul_in_a_path_is_refused(problems: Problems) -> None:
    lines = problems(_set(deployment, model={"path": "mo\x00del"}))
    assert any("holds a NUL character" in line for line in lines), lines


def test_the_error_is_one_config_error(build: Callable[[Mutation | None], StackSpec]) -> None:
    with pytest.raises(ConfigError):
        build(_set(env, location=7))
