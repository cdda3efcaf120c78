"""Mutations of the shipped stacks either fail `amlkit config validate` with exit 2, every
line naming the stack file (or a file a mutated value names), or render a plan in which
every value of the config is found in the inputs it maps to. No other outcome passes:
a value accepted but not sent, sent changed, or a field with no known destination fails.

CI runs a few examples (each valid one renders the stack, a few seconds);
AMLKIT_FUZZ_EXAMPLES=500 runs more.
"""

from __future__ import annotations

import copy
import os
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import isodate
import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from amlkit.cli import EXIT_BAD_CONFIG, app
from amlkit.plan.policy_check import check_stack
from amlkit.plan.render import plan_document, render
from amlkit.specs.identity import ROLE_DEFINITION_IDS
from amlkit.specs.loader import load_yaml
from amlkit.specs.project import Project, find_project
from tests.conftest import ROOT

EXAMPLES = int(os.environ.get("AMLKIT_FUZZ_EXAMPLES", "6"))
STACKS = ["dev", "staging", "prod"]
Path_ = tuple[str | int, ...]
Plan = dict[str, Any]


# -- the project the mutations are written into ------------------------------------------------


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    """A copy of the project (Pulumi.yaml, program, stacks, runtime-image, policy configs):
    each example rewrites one stack file in it."""
    root = tmp_path_factory.mktemp("fuzz")
    shutil.copy(ROOT / "Pulumi.yaml", root / "Pulumi.yaml")
    shutil.copytree(ROOT / "stacks", root / "stacks", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(
        ROOT / "runtime-image",
        root / "runtime-image",
        ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "build", "tests"),
    )
    shutil.copytree(ROOT / "policy", root / "policy", ignore=shutil.ignore_patterns("__pycache__"))
    return find_project(root)


def _shipped(stack: str) -> dict[str, Any]:
    config: dict[str, Any] = load_yaml(ROOT / "stacks" / f"Pulumi.{stack}.yaml")["config"]
    return config


# -- mutations ---------------------------------------------------------------------------------


def _walk(node: Any, path: Path_ = ()) -> Iterator[tuple[Path_, Any]]:
    yield path, node
    if isinstance(node, dict):
        for key, child in node.items():
            yield from _walk(child, (*path, key))
    elif isinstance(node, list):
        for index, child in enumerate(node):
            yield from _walk(child, (*path, index))


def _amlkit(path: Path_) -> bool:
    return bool(path) and str(path[0]).startswith("amlkit:")


def leaves(config: dict[str, Any]) -> list[tuple[Path_, Any]]:
    return [(p, v) for p, v in _walk(config) if _amlkit(p) and not isinstance(v, dict | list)]


def keys(config: dict[str, Any]) -> list[Path_]:
    return [p for p, _ in _walk(config) if p and isinstance(p[-1], str)]


ALTERNATIVES: dict[Any, list[Any]] = {
    "westeurope": ["northeurope", "swedencentral", "WestEurope"],
    "key": ["aml_token", "aad_token", "Key"],
    "aml_token": ["key", "AML_TOKEN"],
    "aad_token": ["key"],
    "enabled": ["disabled", "Enabled"],
    "disabled": ["enabled", "DISABLED"],
    "low_priority": ["dedicated", "spot"],
    "dedicated": ["low_priority"],
    "Basic": ["Standard", "Premium"],
    "Standard": ["Basic", "Premium"],
    "Premium": ["Standard"],
    "Standard_DS3_v2": ["Standard_F4s_v2", "STANDARD_DS3_v2"],
    "Standard_ZRS": ["Standard_LRS", "Standard_GRS"],
    "premium": ["standard"],
    "allow_only_approved_outbound": ["allow_internet_outbound", "disabled"],
    "user_assigned": ["system_assigned", "none"],
    "append_row": ["summary_only"],
    "predictions.csv": ["scores.csv", "out/scores.csv"],
    "score.py": ["other.py", "/etc/passwd", "../score.py"],
    "azureml:cpu-cluster": ["azureml:gpu-cluster", "cpu-cluster"],
    "AcrPull": ["Storage Blob Data Reader", "Owner"],
    "Storage Blob Data Contributor": ["Storage Blob Data Reader"],
    "container_registry": ["storage", "key_vault"],
    "storage": ["container_registry"],
    "amlkit-sample-classifier": ["classifier-2", "bad name"],
    "../runtime-image/sample/model": ["../runtime-image/sample/onlinescoring", "/etc", "../.."],
    "../runtime-image/sample/onlinescoring": ["../runtime-image/sample/batchscoring"],
    "../runtime-image/sample/batchscoring": ["../runtime-image/sample/onlinescoring/score.py"],
    "../policy/config/dev.json": ["../policy/config/prod.json", "../policy/PulumiPolicy.yaml"],
    "ml-platform-oncall@example.com": ["oncall@example.org", "not-an-address"],
}
HOSTILE = ["", "..", "/etc/passwd", "../x", "mars", "westeurop", "a=b", "changeme", "~/x", "yes"]


def values_like(old: Any) -> st.SearchStrategy[Any]:
    if isinstance(old, bool):
        return st.sampled_from([not old, 1, 0, "true", None])
    if isinstance(old, int):
        return st.one_of(
            st.integers(min_value=-2, max_value=12),
            st.sampled_from(
                [old + 1, old - 1, 0, 50, 51, 100, 101, 65000, 65001, 2**31 - 1, 2**31, 10**30]
            ),
            st.sampled_from([float(old), old + 0.5, True, str(old), None]),
        )
    text = st.text(alphabet=st.characters(codec="utf-8"), max_size=12)
    pool = [*ALTERNATIVES.get(old, []), *HOSTILE]
    if isinstance(old, str):
        pool += [old.upper(), old.title(), f" {old} ", old[:-1]]
    return st.one_of(st.sampled_from(pool), text, st.sampled_from([1, True, None, [], {}]))


def typos(key: str) -> st.SearchStrategy[str]:
    variants = {key.upper(), key.title(), key[:-1], key + "x", key.replace("_", "")}
    if key.startswith("amlkit:"):
        variants |= {key.replace("amlkit:", "amlkt:"), key.replace("amlkit:", "amlkita:")}
    return st.sampled_from(sorted(v for v in variants if v and v != key))


@st.composite
def mutated(draw: st.DrawFn) -> tuple[str, dict[str, Any], list[str]]:
    """A shipped stack with one to three mutations; also the strings the mutations wrote."""
    stack = draw(st.sampled_from(STACKS))
    config = copy.deepcopy(_shipped(stack))
    written: list[str] = []
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        kind = draw(st.sampled_from(["value", "value", "value", "delete", "rename"]))
        if kind == "value":
            found = leaves(config)
            if not found:
                continue
            path, old = draw(st.sampled_from(found))
            new = draw(values_like(old))
            _set(config, path, new)
            if isinstance(new, str):
                written.append(new)
        else:
            path = draw(st.sampled_from(keys(config)))
            parent = _get(config, path[:-1])
            key = str(path[-1])
            if kind == "delete":
                parent.pop(key, None)
            else:
                new_key = draw(typos(key))
                if new_key not in parent:
                    parent[new_key] = parent.pop(key)
    return stack, config, written


def _get(node: Any, path: Path_) -> Any:
    for part in path:
        node = node[part]
    return node


def _set(config: dict[str, Any], path: Path_, value: Any) -> None:
    _get(config, path[:-1])[path[-1]] = value


# -- the round trip ----------------------------------------------------------------------------


def _of(plan: Plan, suffix: str, **inputs: Any) -> list[dict[str, Any]]:
    return [
        r
        for r in plan["resources"]
        if r["type"].startswith("azure-native:") or r["type"].startswith("pulumi-python:")
        if r["type"].endswith(suffix) and all(r["inputs"].get(k) == v for k, v in inputs.items())
    ]


def _one(plan: Plan, suffix: str, **inputs: Any) -> dict[str, Any]:
    found = _of(plan, suffix, **inputs)
    assert len(found) == 1, (suffix, inputs, [r["name"] for r in found])
    return found[0]["inputs"]  # type: ignore[no-any-return]


def _seconds(iso: str) -> float:
    return float(isodate.parse_duration(iso).total_seconds())


def _norm(text: str) -> str:
    return text.replace("_", "").lower()


def _local(project: Project, value: str) -> str:
    """A config's local path as the plan shows it: relative to the project."""
    return os.path.relpath(os.path.normpath(project.stacks_dir / value), project.root)


class Ctx:
    """What one leaf of the config maps to: the plan, the project, and the names of the
    endpoint, deployment, compute or identity the leaf sits under."""

    def __init__(self, plan: Plan, project: Project, config: dict[str, Any], path: Path_):
        self.plan, self.project, self.path, self.config = plan, project, path, config
        self.env = config["amlkit:environment"]["name"]
        self.names: dict[str, str] = {}
        for depth, part in enumerate(path):
            if isinstance(part, int):
                owner = str(path[depth - 1])
                node = _get(config, path[: depth + 1])
                self.names[owner] = node.get("name", "") if isinstance(node, dict) else ""
        self.key = str(path[-1])

    @property
    def online_endpoints(self) -> list[dict[str, Any]]:
        return list(self.config.get("amlkit:online_endpoints") or [])

    @property
    def online_deployments(self) -> list[dict[str, Any]]:
        return [d for e in self.online_endpoints for d in e.get("deployments") or []]

    @property
    def endpoint(self) -> str:
        return self.names.get("amlkit:online_endpoints") or self.names["amlkit:batch_endpoints"]

    @property
    def deployment_type(self) -> str:
        online = "amlkit:online_endpoints" in self.names
        return ":OnlineDeployment" if online else ":BatchDeployment"

    def online(self) -> dict[str, Any]:
        dep = self.names["deployments"]
        return _one(self.plan, ":OnlineDeployment", endpointName=self.endpoint, deploymentName=dep)

    def batch(self) -> dict[str, Any]:
        dep = self.names["deployments"]
        return _one(self.plan, ":BatchDeployment", endpointName=self.endpoint, deploymentName=dep)

    def deployment(self) -> dict[str, Any]:
        return self.online() if "amlkit:online_endpoints" in self.names else self.batch()

    def autoscale(self) -> dict[str, Any]:
        target = f"/onlineEndpoints/{self.endpoint}/deployments/{self.names['deployments']}"
        (found,) = [
            r["inputs"]
            for r in _of(self.plan, ":AutoscaleSetting")
            if r["inputs"]["targetResourceUri"].endswith(target)
        ]
        settings: dict[str, Any] = found
        return settings

    def rules(self, metric: str, direction: str = "Increase") -> list[dict[str, Any]]:
        return [
            rule
            for rule in self.autoscale()["profiles"][0]["rules"]
            if rule["metricTrigger"]["metricName"] == metric
            and rule["scaleAction"]["direction"] == direction
        ]

    def alerts(self, metric: str) -> list[dict[str, Any]]:
        return [
            r["inputs"]
            for r in _of(self.plan, ":MetricAlert")
            if r["inputs"]["criteria"]["allOf"][0]["metricName"] == metric
        ]

    def identity(self) -> dict[str, Any]:
        owner = (
            _one(self.plan, ":Compute", computeName=self.names["amlkit:compute"])
            if "amlkit:compute" in self.names
            else _one(self.plan, ":OnlineEndpoint", endpointName=self.endpoint)
        )
        identity: dict[str, Any] = owner.get("identity") or {}
        return identity

    def identity_ids(self) -> list[str]:
        return list(self.identity().get("userAssignedIdentities") or [])


Check = Callable[[Ctx, Any], None]
PROTECTED = [":StorageAccount", ":Vault", ":Registry", "operationalinsights:Workspace"]
SCOPES = {
    "container_registry": "Microsoft.ContainerRegistry/registries/",
    "storage": "Microsoft.Storage/storageAccounts/",
    "key_vault": "Microsoft.KeyVault/vaults/",
    "workspace": "Microsoft.MachineLearningServices/workspaces/",
    "application_insights": "Microsoft.Insights/components/",
}


def _env_name(c: Ctx, v: Any) -> None:
    assert _one(c.plan, ":ResourceGroup")["resourceGroupName"] == f"rg-amlkit-{v}"
    assert _one(c.plan, "machinelearningservices:Workspace")["workspaceName"] == f"mlw-amlkit-{v}"


def _located(c: Ctx, v: Any) -> None:
    located = [r for r in c.plan["resources"] if "location" in r["inputs"]]
    regional = [r for r in located if r["inputs"]["location"] not in ("global", "Global")]
    assert regional and all(r["inputs"]["location"] == v for r in regional)


def _tagged(c: Ctx, v: Any) -> None:
    tagged = [r for r in c.plan["resources"] if isinstance(r["inputs"].get("tags"), dict)]
    assert tagged and all(r["inputs"]["tags"].get(c.key) == v for r in tagged)


def _protected(c: Ctx, v: Any) -> None:
    stateful = [r for s in PROTECTED for r in _of(c.plan, s)]
    stateful += _of(c.plan, "machinelearningservices:Workspace")
    assert len(stateful) == 5 and all(r["protect"] is v for r in stateful)


def _role(c: Ctx, v: Any) -> None:
    ident = c.names["amlkit:identities"]
    grants = [
        r for r in _of(c.plan, ":RoleAssignment") if r["name"].startswith(f"identity-{ident}-")
    ]
    assert any(g["inputs"]["roleDefinitionId"].endswith(ROLE_DEFINITION_IDS[v]) for g in grants)


def _role_scope(c: Ctx, v: Any) -> None:
    ident = c.names["amlkit:identities"]
    grants = [
        r for r in _of(c.plan, ":RoleAssignment") if r["name"].startswith(f"identity-{ident}-")
    ]
    assert any(SCOPES[v] in g["inputs"]["scope"] and g["name"].endswith(v) for g in grants)


def _compute(c: Ctx) -> dict[str, Any]:
    inputs = _one(c.plan, ":Compute", computeName=c.names["amlkit:compute"])
    props: dict[str, Any] = inputs["properties"]["properties"]
    return props


def _uploaded(c: Ctx, v: Any) -> None:
    local = _local(c.project, v)
    blobs = [r["inputs"]["source"]["asset"] for r in _of(c.plan, "storage:Blob")]
    assert any(b == local or b.startswith(local + "/") for b in blobs), (local, blobs)


def _probe(which: str) -> Check:
    def check(c: Ctx, v: Any) -> None:
        probe = c.online()["properties"][which]
        if c.key in ("initial_delay", "period", "timeout"):
            assert _seconds(probe[_camel(c.key)]) == v
        else:
            assert probe[_camel(c.key)] == v

    return check


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _settings(name: str, convert: Callable[[Any], Any] = lambda v: v) -> Check:
    return lambda c, v: _expect(c.batch()["properties"][name], convert(v))


def _alert(metric: str, per: str) -> Check:
    """A threshold goes into one alert per online endpoint (or deployment); with none,
    or with the threshold off (null), there is no alert to put it in."""

    def check(c: Ctx, v: Any) -> None:
        owners = c.online_endpoints if per == "endpoint" else c.online_deployments
        thresholds = [a["criteria"]["allOf"][0]["threshold"] for a in c.alerts(metric)]
        _expect(thresholds, [] if v is None else [v] * len(owners))

    return check


def _rollout(c: Ctx, v: Any) -> None:
    """A `rollout:` leaf is in the plan's `rollouts` entry of its endpoint, as written
    (a smoke request file: resolved against the stack file's folder)."""
    (plan,) = [r for r in c.plan["rollouts"] if r["endpoint"] == c.endpoint]
    node: Any = plan["section"]
    for part in c.path[c.path.index("rollout") + 1 :]:
        node = node[part]
    if c.key == "request_file":
        _expect(Path(node), (c.project.stacks_dir / v).resolve())
    elif isinstance(v, str):
        _expect(str(node).lower(), v.strip().lower())
    else:
        _expect(node, v)


def _expect(got: Any, want: Any) -> None:
    assert got == want, (got, want)


RULES: dict[str, Check] = {
    "amlkit:environment.name": _env_name,
    "amlkit:environment.location": _located,
    "amlkit:environment.tags.*": _tagged,
    "amlkit:environment.protect": _protected,
    "amlkit:workspace.public_network_access": lambda c, v: _expect(
        _one(c.plan, "machinelearningservices:Workspace")["publicNetworkAccess"].lower(), v.lower()
    ),
    "amlkit:workspace.managed_network.isolation_mode": lambda c, v: _expect(
        _norm(_one(c.plan, "machinelearningservices:Workspace")["managedNetwork"]["isolationMode"]),
        _norm(v),
    ),
    "amlkit:workspace.storage.sku": lambda c, v: _expect(
        _one(c.plan, ":StorageAccount")["sku"]["name"], v
    ),
    "amlkit:workspace.key_vault.sku": lambda c, v: _expect(
        _one(c.plan, ":Vault")["properties"]["sku"]["name"], v.lower()
    ),
    "amlkit:workspace.key_vault.soft_delete_retention_days": lambda c, v: _expect(
        _one(c.plan, ":Vault")["properties"]["softDeleteRetentionInDays"], v
    ),
    "amlkit:workspace.container_registry.sku": lambda c, v: _expect(
        _one(c.plan, ":Registry")["sku"]["name"], v
    ),
    "amlkit:workspace.container_registry.public_network_access": lambda c, v: _expect(
        _one(c.plan, ":Registry")["publicNetworkAccess"].lower(), v.lower()
    ),
    "amlkit:workspace.log_analytics.retention_in_days": lambda c, v: _expect(
        _one(c.plan, "operationalinsights:Workspace")["retentionInDays"], v
    ),
    "amlkit:identities[].name": lambda c, v: _expect(
        len(_of(c.plan, ":UserAssignedIdentity", resourceName=f"id-amlkit-{c.env}-{v}")), 1
    ),
    "amlkit:identities[].roles[].role": _role,
    "amlkit:identities[].roles[].scope": _role_scope,
    "amlkit:compute[].name": lambda c, v: _expect(len(_of(c.plan, ":Compute", computeName=v)), 1),
    "amlkit:compute[].size": lambda c, v: _expect(_compute(c)["vmSize"], v),
    "amlkit:compute[].tier": lambda c, v: _expect(_norm(_compute(c)["vmPriority"]), _norm(v)),
    "amlkit:compute[].min_instances": lambda c, v: _expect(
        _compute(c)["scaleSettings"]["minNodeCount"], v
    ),
    "amlkit:compute[].max_instances": lambda c, v: _expect(
        _compute(c)["scaleSettings"]["maxNodeCount"], v
    ),
    "amlkit:compute[].idle_time_before_scale_down": lambda c, v: _expect(
        _seconds(_compute(c)["scaleSettings"]["nodeIdleTimeBeforeScaleDown"]), v
    ),
    "amlkit:compute[].enable_node_public_ip": lambda c, v: _expect(
        _compute(c)["enableNodePublicIp"], v
    ),
    "amlkit:*.identity.type": lambda c, v: _expect(
        _norm(c.identity().get("type") or "none"), _norm(v)
    ),
    "amlkit:*.identity.user_assigned_identities[].name": lambda c, v: _expect(
        any(i.endswith(f"/id-amlkit-{c.env}-{v}") for i in c.identity_ids()), True
    ),
    "amlkit:online_endpoints[].name": lambda c, v: _expect(
        len(_of(c.plan, ":OnlineEndpoint", endpointName=v)), 1
    ),
    "amlkit:online_endpoints[].description": lambda c, v: _expect(
        _one(c.plan, ":OnlineEndpoint", endpointName=c.endpoint)["properties"]["description"],
        v.strip(),  # specs strip surrounding whitespace
    ),
    "amlkit:online_endpoints[].auth_mode": lambda c, v: _expect(
        _norm(_one(c.plan, ":OnlineEndpoint", endpointName=c.endpoint)["properties"]["authMode"]),
        _norm(v),
    ),
    "amlkit:online_endpoints[].public_network_access": lambda c, v: _expect(
        _one(c.plan, ":OnlineEndpoint", endpointName=c.endpoint)["properties"][
            "publicNetworkAccess"
        ].lower(),
        v.lower(),
    ),
    "amlkit:online_endpoints[].traffic.*": lambda c, v: _expect(
        _one(c.plan, ":OnlineEndpointTraffic", endpointName=c.endpoint)["traffic"][c.key], v
    ),
    "amlkit:online_endpoints[].mirror_traffic.*": lambda c, v: _expect(
        _one(c.plan, ":OnlineEndpointTraffic", endpointName=c.endpoint)["mirrorTraffic"][c.key], v
    ),
    "amlkit:online_endpoints[].rollout.*": _rollout,
    "amlkit:*_endpoints[].deployments[].name": lambda c, v: _expect(
        len(_of(c.plan, c.deployment_type, endpointName=c.endpoint, deploymentName=v.strip())), 1
    ),
    "amlkit:*_endpoints[].deployments[].model.path": _uploaded,
    "amlkit:*_endpoints[].deployments[].code_configuration.code": _uploaded,
    "amlkit:*_endpoints[].deployments[].model.name": lambda c, v: _expect(
        len(_of(c.plan, ":ModelVersion", name=v.strip())), 1
    ),
    "amlkit:*_endpoints[].deployments[].code_configuration.scoring_script": lambda c, v: _expect(
        c.deployment()["properties"]["codeConfiguration"]["scoringScript"], v.strip()
    ),
    "amlkit:online_endpoints[].deployments[].instance_type": lambda c, v: _expect(
        c.online()["properties"]["instanceType"], v.strip()
    ),
    "amlkit:online_endpoints[].deployments[].instance_count": lambda c, v: _expect(
        c.online()["sku"]["capacity"], v
    ),
    "amlkit:online_endpoints[].deployments[].app_insights_enabled": lambda c, v: _expect(
        c.online()["properties"]["appInsightsEnabled"], v
    ),
    "amlkit:online_endpoints[].deployments[].egress_public_network_access": lambda c, v: _expect(
        c.online()["properties"]["egressPublicNetworkAccess"].lower(), v.lower()
    ),
    "amlkit:online_endpoints[].deployments[].environment_variables.*": lambda c, v: _expect(
        c.online()["properties"]["environmentVariables"][c.key], str(v)
    ),
    "amlkit:online_endpoints[].deployments[].request_settings.request_timeout_ms": lambda c, v: (
        _expect(_seconds(c.online()["properties"]["requestSettings"]["requestTimeout"]), v / 1000)
    ),
    "amlkit:online_endpoints[].deployments[].request_settings.max_concurrent_requests_per_instance": (
        lambda c, v: _expect(
            c.online()["properties"]["requestSettings"]["maxConcurrentRequestsPerInstance"], v
        )
    ),
    "amlkit:online_endpoints[].deployments[].liveness_probe.*": _probe("livenessProbe"),
    "amlkit:online_endpoints[].deployments[].readiness_probe.*": _probe("readinessProbe"),
    "amlkit:online_endpoints[].deployments[].autoscale.min_instances": lambda c, v: _expect(
        c.autoscale()["profiles"][0]["capacity"]["minimum"], str(v)
    ),
    "amlkit:online_endpoints[].deployments[].autoscale.max_instances": lambda c, v: _expect(
        c.autoscale()["profiles"][0]["capacity"]["maximum"], str(v)
    ),
    "amlkit:online_endpoints[].deployments[].autoscale.default_instances": lambda c, v: _expect(
        c.autoscale()["profiles"][0]["capacity"]["default"], str(v)
    ),
    "amlkit:online_endpoints[].deployments[].autoscale.cpu.scale_out_above": lambda c, v: _expect(
        [r["metricTrigger"]["threshold"] for r in c.rules("CpuUtilizationPercentage")], [v]
    ),
    "amlkit:online_endpoints[].deployments[].autoscale.cpu.scale_in_below": lambda c, v: _expect(
        [r["metricTrigger"]["threshold"] for r in c.rules("CpuUtilizationPercentage", "Decrease")],
        [v],
    ),
    "amlkit:online_endpoints[].deployments[].autoscale.cpu.window_minutes": lambda c, v: _expect(
        {
            _seconds(r["metricTrigger"]["timeWindow"])
            for d in ("Increase", "Decrease")
            for r in c.rules("CpuUtilizationPercentage", d)
        },
        {v * 60},
    ),
    "amlkit:online_endpoints[].deployments[].autoscale.cpu.cooldown_minutes": lambda c, v: _expect(
        {
            _seconds(r["scaleAction"]["cooldown"])
            for d in ("Increase", "Decrease")
            for r in c.rules("CpuUtilizationPercentage", d)
        },
        {v * 60},
    ),
    "amlkit:online_endpoints[].deployments[].autoscale.latency.scale_out_above_ms": lambda c, v: (
        _expect([r["metricTrigger"]["threshold"] for r in c.rules("RequestLatency")], [v])
    ),
    "amlkit:batch_endpoints[].name": lambda c, v: _expect(
        len(_of(c.plan, ":BatchEndpoint", endpointName=v)), 1
    ),
    "amlkit:batch_endpoints[].description": lambda c, v: _expect(
        _one(c.plan, ":BatchEndpoint", endpointName=c.endpoint)["properties"]["description"],
        v.strip(),
    ),
    "amlkit:batch_endpoints[].deployments[].compute": lambda c, v: _expect(
        c.batch()["properties"]["compute"].rsplit("/", 1)[-1], v.removeprefix("azureml:")
    ),
    "amlkit:batch_endpoints[].deployments[].resources.instance_count": lambda c, v: _expect(
        c.batch()["properties"]["resources"]["instanceCount"], v
    ),
    "amlkit:batch_endpoints[].deployments[].settings.mini_batch_size": _settings("miniBatchSize"),
    "amlkit:batch_endpoints[].deployments[].settings.max_concurrency_per_instance": _settings(
        "maxConcurrencyPerInstance"
    ),
    "amlkit:batch_endpoints[].deployments[].settings.error_threshold": _settings("errorThreshold"),
    "amlkit:batch_endpoints[].deployments[].settings.output_action": _settings(
        "outputAction", lambda v: {"appendrow": "AppendRow", "summaryonly": "SummaryOnly"}[_norm(v)]
    ),
    "amlkit:batch_endpoints[].deployments[].settings.output_file_name": _settings(
        "outputFileName", str.strip
    ),
    "amlkit:batch_endpoints[].deployments[].settings.retry_settings.max_retries": lambda c, v: (
        _expect(c.batch()["properties"]["retrySettings"]["maxRetries"], v)
    ),
    "amlkit:batch_endpoints[].deployments[].settings.retry_settings.timeout": lambda c, v: _expect(
        _seconds(c.batch()["properties"]["retrySettings"]["timeout"]), v
    ),
    "amlkit:monitoring.alerts.request_latency_ms": _alert("RequestLatency", "endpoint"),
    "amlkit:monitoring.alerts.server_errors_per_minute": _alert("RequestsPerMinute", "endpoint"),
    "amlkit:monitoring.alerts.cpu_percent": _alert("CpuUtilizationPercentage", "deployment"),
    "amlkit:monitoring.alerts.memory_percent": _alert(
        "CpuMemoryUtilizationPercentage", "deployment"
    ),
    "amlkit:monitoring.alerts.capacity_below_requested": lambda c, v: _expect(
        bool(c.alerts("DeploymentCapacity")), v and bool(c.online_deployments)
    ),
    "amlkit:monitoring.alerts.severity": lambda c, v: _expect(
        {a["inputs"]["severity"] for a in _of(c.plan, ":MetricAlert")},
        {v} if _of(c.plan, ":MetricAlert") or c.online_deployments else set(),
    ),
    "amlkit:monitoring.action_group.short_name": lambda c, v: _expect(
        _one(c.plan, ":ActionGroup")["groupShortName"], v.strip()
    ),
    "amlkit:monitoring.action_group.email_receivers[].name": lambda c, v: _expect(
        v.strip() in {r["name"] for r in _one(c.plan, ":ActionGroup")["emailReceivers"]}, True
    ),
    "amlkit:monitoring.action_group.email_receivers[].email_address": lambda c, v: _expect(
        v.strip() in {r["emailAddress"] for r in _one(c.plan, ":ActionGroup")["emailReceivers"]},
        True,
    ),
    "amlkit:policy.config": lambda c, v: _expect(
        Path(c.plan["policy"]["config"]).resolve(), (c.project.stacks_dir / v.strip()).resolve()
    ),
}


def _pattern(path: Path_) -> str:
    return "".join(
        "[]" if isinstance(p, int) else ("." if i else "") + p for i, p in enumerate(path)
    )


def _matches(pattern: str, rule: str) -> bool:
    """`*` in a rule stands for any text (a key, or part of a section name)."""
    return re.fullmatch(re.escape(rule).replace(r"\*", ".*"), pattern) is not None


def round_trip(plan: Plan, project: Project, config: dict[str, Any]) -> None:
    """Every leaf of the config's `amlkit:` sections is found where it maps to."""
    for path, value in leaves(config):
        pattern = _pattern(path)
        matched = [check for rule, check in RULES.items() if _matches(pattern, rule)]
        assert matched, f"{pattern} = {value!r}: no round-trip rule (a field with no destination)"
        ctx = Ctx(plan, project, config, path)
        try:
            matched[0](ctx, value)
        except (AssertionError, KeyError) as error:
            raise AssertionError(
                f"{pattern} = {value!r} is not what the plan holds: {error!r}"
            ) from None


# -- the tests ---------------------------------------------------------------------------------


def _write(project: Project, stack: str, config: dict[str, Any]) -> Path:
    path = project.stacks_dir / f"Pulumi.{stack}.yaml"
    path.write_text(yaml.safe_dump({"config": config}, sort_keys=False), encoding="utf-8")
    return path


def _render(project: Project, stack: str) -> Plan:
    spec = project.load_spec(stack)
    document = plan_document(project, stack, render(project, stack))
    document["policy"] = check_stack(project, stack, spec, document).as_json()
    return document


@pytest.mark.parametrize("stack", STACKS)
def test_the_shipped_stacks_round_trip(project: Project, stack: str) -> None:
    """The table covers every value of the shipped stacks, and each is where it maps to."""
    _write(project, stack, _shipped(stack))
    round_trip(_render(project, stack), project, _shipped(stack))


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=os.environ.get("AMLKIT_FUZZ_EXAMPLES") is None,  # CI: the same examples
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(case=mutated())
def test_a_mutated_stack_is_refused_or_round_trips(
    project: Project, case: tuple[str, dict[str, Any], list[str]]
) -> None:
    stack, config, written = case
    path = _write(project, stack, config)
    result = CliRunner().invoke(
        app, ["config", "validate", "--stack", stack, "--project", str(project.root)]
    )
    if result.exit_code == EXIT_BAD_CONFIG:
        lines = [line for line in result.output.splitlines() if line.startswith("error ")]
        assert lines, result.output
        named = {str(path)} | {
            os.path.normpath(project.stacks_dir / w) for w in written if w and "\x00" not in w
        }
        for line in lines:
            assert any(line.startswith(f"error {name}") for name in named), (line, named)
        event("refused")
        return
    event("rendered")
    assert result.exit_code == 0, result.output
    # What the user wrote is what the file holds as YAML reads it back.
    round_trip(_render(project, stack), project, load_yaml(path)["config"])
