"""`amlkit config validate` and `amlkit plan` agree: every config of the test corpus
that validation accepts renders under the mock engine, with no error. A config rule
that lived in a component (found only while resources register) would fail here.

The corpus: the shipped stacks, the deliberately bad stack (bad for policy, valid as
config), the specs tests' base config, the valid forms of the rules that moved from
components into the specs, and a fixed sample of one-value mutations of the base
config that validation accepts.
"""

from __future__ import annotations

import copy
import random
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from amlkit.plan.render import render
from amlkit.specs import ConfigError, build_stack_spec
from amlkit.specs.project import find_project
from amlkit.specs.stack_config import NAMESPACE, amlkit_values
from tests.conftest import ROOT, ShippedPlan
from tests.specs.conftest import BASE

pytestmark = pytest.mark.slow

Mutation = Callable[[dict[str, Any]], object]
SUBNET_ID = (
    "/subscriptions/0/resourceGroups/net/providers/Microsoft.Network/virtualNetworks/vnet"
    "/subnets/ml"
)
IDENTITY_ID = (
    "/subscriptions/0/resourceGroups/rg/providers/Microsoft.ManagedIdentity"
    "/userAssignedIdentities/id-ws"
)


def _online_deployment(v: dict[str, Any], index: int) -> dict[str, Any]:
    found: dict[str, Any] = v["online_endpoints"][0]["deployments"][index]
    return found


VALID_FORMS: dict[str, Mutation] = {
    "workspace identity by resource_id": lambda v: v.__setitem__(
        "workspace",
        {
            "identity": {
                "type": "user_assigned",
                "user_assigned_identities": [{"resource_id": IDENTITY_ID}],
            }
        },
    ),
    "subnet by name in a virtual network": lambda v: v["compute"][0].update(
        network_settings={"vnet_name": "vnet", "subnet": "ml"}
    ),
    "subnet by id": lambda v: v["compute"][0].update(network_settings={"subnet": SUBNET_ID}),
    "one model name and version shared": lambda v: [
        _online_deployment(v, i).update(model={"path": "model", "name": "clf", "version": "1"})
        for i in (0, 1)
    ],
    "one environment name and version shared": lambda v: [
        _online_deployment(v, i).update(
            environment={"name": "serve", "version": "1", "image": "python:3.11-slim"}
        )
        for i in (0, 1)
    ],
    "an ephemeral environment with its salt": lambda v: v["environment"].update(
        name="pr123", ephemeral={"ttl_hours": 24}, salt="k3x9"
    ),
}

# One-value mutations of the base config: a fixed, reproducible sample.
REPLACEMENTS: tuple[Any, ...] = (0, 1, 2, 100, "", "x", True, False, None, [], {})
SAMPLE = 6


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(node, dict):
        for key, child in node.items():
            found += _paths(child, (*prefix, key))
    elif isinstance(node, list):
        for index, child in enumerate(node):
            found += _paths(child, (*prefix, index))
    return found


def _replaced(path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    config = copy.deepcopy(BASE)
    node: Any = config
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    return config


def _project(root: Path) -> Path:
    """The real stack program and scoring image, with the base config's local files."""
    shutil.copy(ROOT / "Pulumi.yaml", root / "Pulumi.yaml")
    (root / "stacks").mkdir()
    shutil.copy(ROOT / "stacks" / "__main__.py", root / "stacks" / "__main__.py")
    # CLI v2 files the shipped stacks name (stacks/k8s/green-deployment.yml)
    shutil.copytree(ROOT / "stacks" / "k8s", root / "stacks" / "k8s")
    (root / "policy").symlink_to(ROOT / "policy")
    (root / "runtime-image").symlink_to(ROOT / "runtime-image")
    for folder in ("model", "code"):
        (root / "stacks" / folder).mkdir()
    (root / "stacks" / "model" / "model.joblib").write_bytes(b"model")
    (root / "stacks" / "code" / "score.py").write_text("def init():\n    pass\n")
    (root / "stacks" / "image").symlink_to(ROOT / "runtime-image")
    return root


def _accepted(sections: dict[str, Any], stacks_dir: Path) -> bool:
    try:
        build_stack_spec(sections, source=stacks_dir / "Pulumi.case.yaml")
    except ConfigError:
        return False
    return True


def _corpus(stacks_dir: Path) -> dict[str, dict[str, Any]]:
    """name -> the `config:` mapping of a stack file."""
    corpus: dict[str, dict[str, Any]] = {}
    files = [
        *sorted((ROOT / "stacks").glob("Pulumi.*.yaml")),
        ROOT / "tests/policy/bad/Pulumi.bad.yaml",
    ]
    for file in files:
        config = yaml.safe_load(file.read_text())["config"]
        corpus[file.name] = config
    sections: dict[str, dict[str, Any]] = {"base": copy.deepcopy(BASE)}
    for name, mutate in VALID_FORMS.items():
        values = copy.deepcopy(BASE)
        mutate(values)
        sections[name] = values
    candidates = [(p, v) for p in _paths(BASE)[1:] for v in REPLACEMENTS]
    random.Random(12).shuffle(candidates)
    sampled = 0
    for path, value in candidates:
        values = _replaced(path, value)
        if sampled < SAMPLE and _accepted(values, stacks_dir):
            sections[f"{'.'.join(map(str, path))} = {value!r}"] = values
            sampled += 1
    for name, values in sections.items():
        corpus[name] = {f"{NAMESPACE}:{k}": v for k, v in values.items()}
    return corpus


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _project(tmp_path_factory.mktemp("agree"))


def test_every_config_validation_accepts_renders(project: Path, shipped_plan: ShippedPlan) -> None:
    stacks_dir = project / "stacks"
    corpus = _corpus(stacks_dir)
    assert len(corpus) >= 4 + len(VALID_FORMS) + SAMPLE  # the sample was found
    found = find_project(project)
    failures = []
    for index, (name, config) in enumerate(corpus.items()):
        stack = f"case{index}"
        file = stacks_dir / f"Pulumi.{stack}.yaml"
        file.write_text(yaml.safe_dump({"config": config}))
        found.load_spec(stack)  # every case of the corpus validates
        shipped = name.removeprefix("Pulumi.").removesuffix(".yaml")
        try:
            if (ROOT / "stacks" / name).is_file():  # rendered once for every test
                resources = shipped_plan(shipped)["resources"]
            else:
                resources = render(found, stack).resources
        except Exception as error:  # any failure: validation said yes, the plan said no
            failures.append(f"{name}: {type(error).__name__}: {error}")
            continue
        assert resources, name
        assert amlkit_values(config)  # the case held amlkit sections
    assert failures == []
