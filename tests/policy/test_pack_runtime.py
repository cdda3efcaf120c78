"""The real pack in Pulumi's policy runtime, driven over the analyzer gRPC protocol
as the Pulumi CLI drives it: `python -m pulumi.policy <engine> policy/` prints the
analyzer's port, then GetAnalyzerInfo, Configure, Analyze and AnalyzeStack.
No Pulumi CLI is involved: the engine's side of the protocol is played here."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from google.protobuf import empty_pb2, struct_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE

from amlkit.policy import BY_NAME, StackRule
from tests.conftest import ROOT

pytestmark = pytest.mark.slow

PACK = ROOT / "policy"
REGISTRY = "azure-native:containerregistry:Registry"


def _struct(value: dict[str, Any]) -> struct_pb2.Struct:
    out = struct_pb2.Struct()
    out.update(value)
    return out


@pytest.fixture(scope="module")
def analyzer() -> Iterator[analyzer_pb2_grpc.AnalyzerStub]:
    env = {
        **os.environ,
        # What the engine passes a pack: the stack's config and which keys are secret.
        "PULUMI_CONFIG": json.dumps({"azure-native:clientSecret": "in-clear"}),
        "PULUMI_CONFIG_SECRET_KEYS": "[]",
    }
    process = subprocess.Popen(
        [sys.executable, "-u", "-m", "pulumi.policy", "127.0.0.1:1", str(PACK)],
        cwd=PACK,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line.strip().isdigit():
            process.kill()
            _, errors = process.communicate(timeout=10)
            pytest.fail(f"the pack did not print its port: {line!r} {errors}")
        channel = grpc.insecure_channel(f"127.0.0.1:{int(line)}")
        grpc.channel_ready_future(channel).result(timeout=30)
        yield analyzer_pb2_grpc.AnalyzerStub(channel)
        channel.close()
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_lists_the_25_policies(analyzer: analyzer_pb2_grpc.AnalyzerStub) -> None:
    info = analyzer.GetAnalyzerInfo(empty_pb2.Empty())
    assert info.name == "amlkit"
    policies = {p.name: p for p in info.policies}
    assert list(policies) == list(BY_NAME)
    assert len(policies) == 26
    for name, policy in policies.items():
        rule = BY_NAME[name]
        assert policy.description == rule.description
        assert policy.framework.name and policy.framework.reference
        assert policy.remediation_steps == rule.fix
        kind = (
            analyzer_pb2.POLICY_TYPE_STACK
            if isinstance(rule, StackRule)
            else analyzer_pb2.POLICY_TYPE_RESOURCE
        )
        assert policy.policy_type == kind, name
    assert policies["aml-model-source"].enforcementLevel == analyzer_pb2.ADVISORY
    assert (
        policies["acr-admin-and-anonymous-pull-disabled"].enforcementLevel == analyzer_pb2.MANDATORY
    )
    schema = policies["log-analytics-retention"].configSchema.properties
    assert schema["minimumRetentionDays"]["default"] == 90


def _analyze(
    analyzer: analyzer_pb2_grpc.AnalyzerStub, typ: str, props: dict[str, Any]
) -> list[analyzer_pb2.AnalyzeDiagnostic]:
    request = analyzer_pb2.AnalyzeRequest(
        type=typ,
        properties=_struct(props),
        urn=f"urn:pulumi:prod::amlkit::{typ}::r",
        name="r",
        options=analyzer_pb2.AnalyzerResourceOptions(protect=True),
    )
    return list(analyzer.Analyze(request).diagnostics)


def test_analyze_reports_a_violating_resource(analyzer: analyzer_pb2_grpc.AnalyzerStub) -> None:
    registry = {
        "registryName": "cr",
        "location": "westeurope",
        "tags": {"owner": "a", "environment": "prod", "cost-center": "c"},
        "sku": {"name": "Premium"},
        "adminUserEnabled": True,
        "anonymousPullEnabled": False,
        "publicNetworkAccess": "Disabled",
    }
    diagnostics = _analyze(analyzer, REGISTRY, registry)
    assert [(d.policyName, d.enforcementLevel) for d in diagnostics] == [
        ("acr-admin-and-anonymous-pull-disabled", analyzer_pb2.MANDATORY)
    ]
    assert "adminUserEnabled is True (must be False). Fix: set adminUserEnabled: false" in (
        diagnostics[0].message
    )
    registry["adminUserEnabled"] = False
    assert _analyze(analyzer, REGISTRY, registry) == []


def test_unknown_value_stays_mandatory(analyzer: analyzer_pb2_grpc.AnalyzerStub) -> None:
    """pulumi_policy alone would downgrade this to advisory; the pack keeps it blocking."""
    registry = {
        "registryName": "cr",
        "sku": {"name": "Premium"},
        "adminUserEnabled": UNKNOWN_STRING_VALUE,
        "anonymousPullEnabled": False,
        "publicNetworkAccess": "Disabled",
    }
    diagnostics = [
        d
        for d in _analyze(analyzer, REGISTRY, registry)
        if d.policyName == "acr-admin-and-anonymous-pull-disabled"
    ]
    assert len(diagnostics) == 1
    assert diagnostics[0].enforcementLevel == analyzer_pb2.MANDATORY
    assert "cannot decide: the string value at .adminUserEnabled" in diagnostics[0].message


def test_configure_sets_levels_and_settings(analyzer: analyzer_pb2_grpc.AnalyzerStub) -> None:
    logs: dict[str, Any] = {"retentionInDays": 60, "features": {"disableLocalAuth": True}}
    typ = "azure-native:operationalinsights:Workspace"

    def retention() -> list[analyzer_pb2.AnalyzeDiagnostic]:
        found = _analyze(analyzer, typ, logs)
        return [d for d in found if d.policyName == "log-analytics-retention"]

    (before,) = retention()
    assert before.enforcementLevel == analyzer_pb2.ADVISORY
    assert "retentionInDays is 60 (at least 90)" in before.message
    config = analyzer_pb2.PolicyConfig(
        enforcementLevel=analyzer_pb2.MANDATORY, properties=_struct({"minimumRetentionDays": 30})
    )
    analyzer.Configure(
        analyzer_pb2.ConfigureAnalyzerRequest(policyConfig={"log-analytics-retention": config})
    )
    try:
        assert retention() == []
        logs["retentionInDays"] = 7
        (after,) = retention()
        assert after.enforcementLevel == analyzer_pb2.MANDATORY
    finally:
        analyzer.Configure(analyzer_pb2.ConfigureAnalyzerRequest(policyConfig={}))


def _resource(typ: str, name: str, props: dict[str, Any]) -> analyzer_pb2.AnalyzerResource:
    return analyzer_pb2.AnalyzerResource(
        type=typ,
        properties=_struct(props),
        urn=f"urn:pulumi:prod::amlkit::{typ}::{name}",
        name=name,
        options=analyzer_pb2.AnalyzerResourceOptions(),
    )


def test_analyze_stack(analyzer: analyzer_pb2_grpc.AnalyzerStub) -> None:
    ml = "azure-native:machinelearningservices:"
    resources = [
        _resource(ml + "OnlineEndpoint", "endpoint", {"endpointName": "score", "kind": "Managed"}),
        _resource(
            ml + "OnlineDeployment",
            "blue",
            {
                "endpointName": "score",
                "deploymentName": "blue",
                "properties": {"appInsightsEnabled": True},
            },
        ),
        _resource(
            "pulumi-python:dynamic/amlkit:OnlineEndpointTraffic",
            "traffic",
            {"endpointName": "score", "traffic": {"blue": 50, "green": 50}, "mirrorTraffic": {}},
        ),
    ]
    response = analyzer.AnalyzeStack(analyzer_pb2.AnalyzeStackRequest(resources=resources))
    found = {
        (d.policyName, d.message.split("\n", 1)[1].split(". Fix:")[0]) for d in response.diagnostics
    }
    assert (
        "aml-endpoint-traffic",
        "score: traffic names 'green', which is not a deployment of this endpoint "
        "(deployments: ['blue'])",
    ) in found
    # The engine handed the pack the stack's config: a plaintext credential is caught.
    assert (
        "secrets-not-plaintext",
        "config azure-native:clientSecret holds a credential in plain text",
    ) in found
    assert "online endpoint score: no diagnostic setting sends its logs to Log Analytics" in {
        m for p, m in found if p == "monitoring-wired"
    }
    # Without a previous plan, rule 3 says it cannot apply, and why.
    reasons = {n.policy_name: n.reason for n in response.not_applicable}
    assert "sees only the new state" in reasons["aml-deployment-delete-live-traffic"]


def test_plugin_info(analyzer: analyzer_pb2_grpc.AnalyzerStub) -> None:
    assert analyzer.GetPluginInfo(empty_pb2.Empty()).version.startswith("1.")
