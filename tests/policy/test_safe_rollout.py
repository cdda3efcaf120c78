"""Rule 26, aml-endpoint-safe-rollout: an endpoint with more than one deployment declares
a rollout with an error gate and on_failure: rollback. Over synthetic traffic resources
here; over a rendered stack in test_bad_stack.py and below (the component carries the
declared rollout into the traffic resource's inputs)."""

from __future__ import annotations

from typing import Any

from amlkit.components.online_endpoint import rollout_declared
from amlkit.policy import BY_NAME, StackRule
from amlkit.policy.base import BATCH_ENDPOINT, ENDPOINT_TRAFFIC
from amlkit.specs import OnlineEndpointSpec
from tests.policy.conftest import policy_resource, problems, stack_args

NAME = "aml-endpoint-safe-rollout"


def _rule() -> StackRule:
    found = BY_NAME[NAME]
    assert isinstance(found, StackRule)
    return found


def _split(deployments: list[str], rollout: dict[str, Any] | None) -> list[Any]:
    props: dict[str, Any] = {
        "endpointName": "score",
        "deployments": deployments,
        "traffic": {deployments[0]: 100},
        "mirrorTraffic": {},
    }
    if rollout is not None:
        props["rollout"] = rollout
    return [policy_resource(ENDPOINT_TRAFFIC, props, "traffic")]


GOOD = {"candidate": "green", "gates": ["error_rate", "latency_p99"], "onFailure": "rollback"}


def test_compliant() -> None:
    assert problems(_rule(), stack_args(_split(["blue", "green"], GOOD))) == []
    # One deployment: nothing to roll out, no section needed.
    assert problems(_rule(), stack_args(_split(["blue"], None))) == []


def test_violating() -> None:
    assert problems(_rule(), stack_args(_split(["blue", "green"], None))) == [
        "score: 2 deployments (blue, green) and no `rollout:` section"
    ]
    no_error_gate = {**GOOD, "gates": ["latency_p99"]}
    assert problems(_rule(), stack_args(_split(["blue", "green"], no_error_gate))) == [
        "score: rollout has no error gate (gates: latency_p99); add one on error_rate"
    ]
    held = {**GOOD, "onFailure": "hold"}
    assert problems(_rule(), stack_args(_split(["blue", "green"], held))) == [
        "score: rollout on_failure is 'hold'; set on_failure: rollback"
    ]


def test_missing_and_other_type() -> None:
    batch = policy_resource(BATCH_ENDPOINT, {"deployments": ["a", "b"]}, "batch")
    assert problems(_rule(), stack_args([batch])) == []
    bare = policy_resource(ENDPOINT_TRAFFIC, {"endpointName": "score"}, "traffic")
    assert problems(_rule(), stack_args([bare])) == []


def test_the_component_declares_what_the_section_says() -> None:
    deployment = {
        "model": "azureml:m:1",
        "instance_type": "Standard_DS3_v2",
        "instance_count": 1,
        "environment": "azureml:env:1",
        "code_configuration": {"code": "azureml:code:1", "scoring_script": "score.py"},
    }
    spec = OnlineEndpointSpec.model_validate(
        {
            "name": "score",
            "traffic": {"blue": 100},
            "deployments": [{"name": "blue", **deployment}, {"name": "green", **deployment}],
            "rollout": {
                "candidate": "green",
                "strategy": "blue_green",
                "bake": "PT5M",
                "gates": [{"metric": "error_rate", "max": 0.01}],
                "on_failure": "hold",
            },
        }
    )
    assert rollout_declared(spec) == {
        "candidate": "green",
        "baseline": "blue",
        "strategy": "blue_green",
        "gates": ["error_rate"],
        "onFailure": "hold",
    }
    assert rollout_declared(spec.model_copy(update={"rollout": None})) is None
