"""The `rollout:` section of an online endpoint: what it accepts, and the one-line
problems (naming the field) for what it refuses, through the stack loader as users
meet them."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from amlkit.specs import ConfigError, build_stack_spec
from amlkit.specs.rollout import RolloutSpec

DEPLOYMENT = {
    "model": "azureml:m:1",
    "environment": "azureml:env:1",
    "code_configuration": {"code": "azureml:code:1", "scoring_script": "score.py"},
    "instance_type": "Standard_DS3_v2",
    "instance_count": 1,
}
ROLLOUT: dict[str, Any] = {
    "candidate": "green",
    "strategy": {"type": "canary", "steps": [10, 50, 100]},
    "bake": "PT10M",
    "gates": [{"metric": "error_rate", "max": 0.01}],
}


def _stack(tmp_path: Path, rollout: dict[str, Any], **endpoint: Any) -> Any:
    (tmp_path / "image").mkdir(exist_ok=True)
    values = {
        "scoring_image": {"context": "image"},
        "environment": {"name": "dev", "location": "westeurope"},
        "online_endpoints": [
            {
                "name": "score",
                "traffic": {"blue": 100},
                "deployments": [{"name": "blue", **DEPLOYMENT}, {"name": "green", **DEPLOYMENT}],
                "rollout": rollout,
                **endpoint,
            }
        ],
    }
    return build_stack_spec(values, source=tmp_path / "Pulumi.dev.yaml")


def _problems(tmp_path: Path, rollout: dict[str, Any], **endpoint: Any) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        _stack(tmp_path, rollout, **endpoint)
    return [str(p) for p in caught.value.problems]


def test_a_full_section_loads_with_its_defaults(tmp_path: Path) -> None:
    (tmp_path / "request.json").write_text('{"data": [[1, 2]]}')
    spec = _stack(
        tmp_path,
        {
            **ROLLOUT,
            "initial_delay": "PT1M",
            "smoke": {"requests": 3, "statuses": [200, 201], "request_file": "request.json"},
            "shadow": {"percent": 50, "duration": "PT5M"},
            "gates": [
                {"metric": "error_rate", "max": 0.01, "max_over_baseline": 0.005},
                {"metric": "latency_p99", "max_ratio_to_baseline": 1.5},
                {"metric": "CpuUtilizationPercentage", "max": 80},
            ],
            "metrics_lag": "PT3M",
            "timeout": "PT2H",
        },
    )
    (endpoint,) = spec.online_endpoints
    rollout = endpoint.rollout
    assert rollout is not None
    assert rollout.percents() == (10, 50, 100)
    assert rollout.bake == timedelta(minutes=10) and rollout.metrics_lag == timedelta(minutes=3)
    assert rollout.smoke is not None
    assert rollout.smoke.request_file == str((tmp_path / "request.json").resolve())
    assert (rollout.min_requests, rollout.on_inconclusive, rollout.max_inconclusive) == (
        100,
        "extend",
        3,
    )
    assert rollout.on_failure == "rollback" and rollout.has_error_gate()
    assert endpoint.rollout_baseline() == "blue"  # the one with live traffic
    # 1 min delay + 5 min shadow + 3 bakes of 10 min + 4 windows of 3 min lag
    assert rollout.minimum_to_promote() == timedelta(minutes=1 + 5 + 30 + 12)
    assert rollout.time_to_roll_back() == timedelta(minutes=13)


@pytest.mark.parametrize(
    ("strategy", "steps"),
    [
        ("blue_green", (100,)),
        ({"type": "linear", "step": 30}, (30, 60, 90, 100)),
        ({"type": "linear", "step": 25}, (25, 50, 75, 100)),
        ({"type": "canary", "steps": [100]}, (100,)),
    ],
)
def test_strategies(strategy: Any, steps: tuple[int, ...]) -> None:
    spec = RolloutSpec.model_validate({**ROLLOUT, "strategy": strategy})
    assert spec.percents() == steps


@pytest.mark.parametrize(
    ("change", "where", "message"),
    [
        (
            {"strategy": {"type": "canary", "steps": [10, 10, 100]}},
            "strategy.steps",
            "must increase strictly",
        ),
        (
            {"strategy": {"type": "canary", "steps": [10, 50]}},
            "strategy.steps",
            "must end at 100",
        ),
        (
            {"strategy": {"type": "canary", "steps": [0, 100]}},
            "strategy.steps[0]",
            "greater than or equal to 1",
        ),
        ({"bake": 600}, "bake", "is not an ISO-8601 duration"),
        ({"bake": "PT0S"}, "bake", "must be longer than zero"),
        ({"bake": "ten minutes"}, "bake", "is not an ISO-8601 duration"),
        (
            {"shadow": {"percent": 60, "duration": "PT1M"}},
            "shadow.percent",
            "less than or equal to 50",
        ),
        ({"gates": [{"metric": "errors", "max": 1}]}, "gates[0].metric", "unknown metric 'errors'"),
        ({"gates": [{"metric": "error_rate"}]}, "gates[0]", "give at least one of max"),
        ({"gates": [{"metric": "error_rate", "max": 5}]}, "gates[0]", "a fraction between 0 and 1"),
        ({"gates": []}, "gates", "at least 1 item"),
        ({"on_inconclusive": "retry"}, "on_inconclusive", "'extend', 'hold' or 'fail'"),
        ({"on_failure": "ignore"}, "on_failure", "'rollback' or 'hold'"),
        ({"timeout": "PT5M"}, "rollout", "shorter than the least the rollout takes"),
        ({"candidate": "blue", "baseline": "blue"}, "rollout", "baseline and candidate are both"),
    ],
)
def test_refused_with_the_field_named(
    tmp_path: Path, change: dict[str, Any], where: str, message: str
) -> None:
    problems = _problems(tmp_path, {**ROLLOUT, **change})
    assert any(
        f"rollout.{where}".removesuffix(".rollout") in p and message in p for p in problems
    ), problems


def test_the_endpoint_rules(tmp_path: Path) -> None:
    (unknown,) = _problems(tmp_path, {**ROLLOUT, "candidate": "red"})
    assert "rollout.candidate 'red' is not a deployment of this endpoint" in unknown
    (kubernetes,) = _problems(
        tmp_path,
        {**ROLLOUT, "shadow": {"percent": 10, "duration": "PT1M"}},
        compute="/subscriptions/s/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/w/computes/k8s",
        auth_mode="key",
    )
    assert "Kubernetes endpoints do not support mirroring" in kubernetes
    (no_baseline,) = _problems(tmp_path, ROLLOUT, traffic={"green": 100})
    assert "name `baseline`" in no_baseline
