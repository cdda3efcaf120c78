"""The stack policies (rules 1, 2, 3, 10, 16, 21) over synthetic stacks: compliant,
violating, missing the property, and a resource of another type."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pulumi.runtime
import pytest
from pulumi_policy import PolicyResource

from amlkit.policy import BY_NAME, StackRule
from amlkit.policy.base import (
    APP_INSIGHTS,
    BATCH_DEPLOYMENT,
    BATCH_ENDPOINT,
    COMPUTE,
    DIAGNOSTIC_SETTING,
    ENDPOINT_TRAFFIC,
    ONLINE_DEPLOYMENT,
    ONLINE_ENDPOINT,
    ROLE_ASSIGNMENT,
    USER_ASSIGNED_IDENTITY,
    WORKSPACE,
)
from amlkit.policy.identity import ACR_PULL
from amlkit.policy.secrets import STACK_OUTPUTS
from tests.policy.conftest import UNKNOWN, not_applicable, policy_resource, problems, stack_args

RG = "/subscriptions/s/resourceGroups/rg"
WS = f"{RG}/providers/Microsoft.MachineLearningServices/workspaces/mlw"
ACR = f"{RG}/providers/Microsoft.ContainerRegistry/registries/cr"
STORAGE = f"{RG}/providers/Microsoft.Storage/storageAccounts/st"
ROLE = "/subscriptions/s/providers/Microsoft.Authorization/roleDefinitions/"
OWNER = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
UAI_ID = f"{RG}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-endpoint"


def rule(name: str) -> StackRule:
    found = BY_NAME[name]
    assert isinstance(found, StackRule)
    return found


def stack(
    *,
    traffic: dict[str, Any] | None = None,
    mirror: dict[str, Any] | None = None,
    endpoint_kind: str = "Managed",
    acr_pull: bool = True,
    app_insights: Any = True,
    endpoint_logs: bool = True,
    extra: tuple[PolicyResource, ...] = (),
) -> list[PolicyResource]:
    """A small compliant stack: one endpoint with blue (live) and green (mirrored)."""
    identity = policy_resource(USER_ASSIGNED_IDENTITY, {"resourceName": "id-endpoint"}, "uai")
    endpoint = policy_resource(
        ONLINE_ENDPOINT,
        {
            "endpointName": "score",
            "workspaceName": "mlw",
            "kind": endpoint_kind,
            "identity": {"type": "UserAssigned", "userAssignedIdentities": [UAI_ID]},
            "properties": {"authMode": "AADToken"},
        },
        "endpoint",
    )
    deployments = [
        policy_resource(
            ONLINE_DEPLOYMENT,
            {
                "endpointName": "score",
                "deploymentName": name,
                "properties": {"appInsightsEnabled": app_insights}
                if app_insights is not None
                else {},
            },
            name,
        )
        for name in ("blue", "green")
    ]
    split = policy_resource(
        ENDPOINT_TRAFFIC,
        {
            "endpointName": "score",
            "traffic": {"blue": 100, "green": 0} if traffic is None else traffic,
            "mirrorTraffic": {"green": 20} if mirror is None else mirror,
        },
        "traffic",
    )
    pull = policy_resource(
        ROLE_ASSIGNMENT,
        {
            "roleDefinitionId": ROLE + ACR_PULL,
            "scope": ACR,
            "principalType": "ServicePrincipal",
            "principalId": "p-1",
        },
        "acr-pull",
        depends_on=[identity],
    )
    reader = policy_resource(
        ROLE_ASSIGNMENT,
        {
            "roleDefinitionId": ROLE + "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1",
            "scope": STORAGE,
            "principalType": "ServicePrincipal",
            "principalId": "p-1",
        },
        "blob-reader",
        depends_on=[identity],
    )
    workspace = policy_resource(
        WORKSPACE, {"workspaceName": "mlw", "applicationInsights": "/appi"}, "ws"
    )
    insights = policy_resource(
        APP_INSIGHTS, {"workspaceResourceId": "/log", "disableLocalAuth": True}, "appi"
    )
    logs = [policy_resource(DIAGNOSTIC_SETTING, {"resourceUri": WS, "workspaceId": "/log"}, "d1")]
    if endpoint_logs:
        logs.append(
            policy_resource(
                DIAGNOSTIC_SETTING,
                {"resourceUri": f"{WS}/onlineEndpoints/score", "workspaceId": "/log"},
                "d2",
            )
        )
    roles = [reader, pull] if acr_pull else [reader]
    return [identity, endpoint, *deployments, split, *roles, workspace, insights, *logs, *extra]


# -- 1 traffic ------------------------------------------------------------------------------


def test_traffic_compliant() -> None:
    assert problems(rule("aml-endpoint-traffic"), stack_args(stack())) == []


def test_traffic_violating() -> None:
    found = problems(
        rule("aml-endpoint-traffic"),
        stack_args(stack(traffic={"blue": 60, "red": 30}, mirror={})),
    )
    assert found == [
        "score: traffic sums to 90 (Azure takes 0 or 100)",
        "score: traffic names 'red', which is not a deployment of this endpoint "
        "(deployments: ['blue', 'green'])",
    ]
    found = problems(rule("aml-endpoint-traffic"), stack_args(stack(traffic={"blue": 99.5})))
    assert found[0] == "score: traffic['blue'] is 99.5 (a whole number 0-100)"


def test_traffic_on_the_endpoint_itself_is_read_too() -> None:
    endpoint = policy_resource(
        ONLINE_ENDPOINT, {"endpointName": "other", "properties": {"traffic": {"x": 100}}}, "e2"
    )
    found = problems(rule("aml-endpoint-traffic"), stack_args(stack(extra=(endpoint,))))
    assert found == [
        "other: traffic names 'x', which is not a deployment of this endpoint (deployments: none)"
    ]


def test_traffic_missing_and_other_type() -> None:
    # No traffic at all: Azure sends nothing anywhere, which is valid.
    assert problems(rule("aml-endpoint-traffic"), stack_args(stack(traffic={}, mirror={}))) == []
    batch = policy_resource(BATCH_ENDPOINT, {"properties": {"traffic": {"x": 70}}}, "batch")
    assert problems(rule("aml-endpoint-traffic"), stack_args(stack(extra=(batch,)))) == []


# -- 2 mirror ---------------------------------------------------------------------------------


def test_mirror_compliant_and_violating() -> None:
    mirror = rule("aml-endpoint-mirror-traffic")
    assert problems(mirror, stack_args(stack())) == []
    found = problems(mirror, stack_args(stack(mirror={"green": 60, "blue": 10})))
    assert found == [
        "score: mirror traffic names 2 deployments (at most 1)",
        "score: mirror_traffic['green'] is 60 (0-50)",
        "score: 'blue' gets mirrored and live traffic at once",
    ]
    k8s = problems(mirror, stack_args(stack(endpoint_kind="Kubernetes")))
    assert k8s == ["score: mirror traffic on a Kubernetes endpoint"]


def test_mirror_missing_and_other_type() -> None:
    mirror = rule("aml-endpoint-mirror-traffic")
    assert problems(mirror, stack_args(stack(mirror={}))) == []
    other = policy_resource(BATCH_ENDPOINT, {"properties": {"mirrorTraffic": {"a": 90}}}, "b")
    assert problems(mirror, stack_args(stack(extra=(other,)))) == []


# -- 3 deletes with live traffic ----------------------------------------------------------------


def _plan(path: Path, deployments: dict[str, int], kind: str = ONLINE_DEPLOYMENT) -> Path:
    resources: list[dict[str, Any]] = [
        {
            "type": kind,
            "urn": f"urn:{name}",
            "name": name,
            "inputs": {"endpointName": "score", "deploymentName": name},
        }
        for name in deployments
    ]
    resources.append(
        {
            "type": ENDPOINT_TRAFFIC,
            "urn": "urn:traffic",
            "name": "traffic",
            "inputs": {"endpointName": "score", "traffic": deployments, "mirrorTraffic": {}},
        }
    )
    path.write_text(json.dumps({"stack": "prod", "resources": resources}))
    return path


def test_delete_live_traffic(tmp_path: Path) -> None:
    delete = rule("aml-deployment-delete-live-traffic")
    live = _plan(tmp_path / "live.json", {"blue": 70, "old": 30})
    found = problems(delete, stack_args(stack(), {"previousPlan": str(live)}))
    assert found == ["score/old is removed while it serves 30% of live traffic"]
    drained = _plan(tmp_path / "drained.json", {"blue": 100, "old": 0})
    assert problems(delete, stack_args(stack(), {"previousPlan": str(drained)})) == []


def test_delete_live_traffic_missing_and_other_type(tmp_path: Path) -> None:
    delete = rule("aml-deployment-delete-live-traffic")
    # Without the previous state a stack policy cannot know: not applicable, said why.
    reason = not_applicable(delete, stack_args(stack()))
    assert reason is not None and "sees only the new state" in reason
    unreadable = problems(delete, stack_args(stack(), {"previousPlan": str(tmp_path / "none")}))
    assert len(unreadable) == 1 and unreadable[0].startswith("cannot decide: previous plan")
    # A batch deployment leaving the stack has no live traffic to lose.
    batch = _plan(tmp_path / "batch.json", {"old": 100}, kind=BATCH_DEPLOYMENT)
    assert problems(delete, stack_args(stack(), {"previousPlan": str(batch)})) == []


# -- 10 least privilege ------------------------------------------------------------------------------


def test_iam_compliant_and_violating() -> None:
    iam = rule("iam-least-privilege")
    assert problems(iam, stack_args(stack())) == []
    owner = policy_resource(
        ROLE_ASSIGNMENT,
        {"roleDefinitionId": ROLE + OWNER, "scope": "/subscriptions/s", "principalType": "User"},
        "owner",
    )
    misplaced = policy_resource(
        ROLE_ASSIGNMENT,
        {
            "roleDefinitionId": ROLE + ACR_PULL,
            "scope": STORAGE,
            "principalType": "ServicePrincipal",
        },
        "misplaced",
    )
    found = problems(iam, stack_args(stack(acr_pull=False, extra=(owner, misplaced))))
    assert found == [
        "owner grants Owner",
        "owner: scope '/subscriptions/s' is a whole subscription",
        "owner: principalType is 'User' (ServicePrincipal)",
        f"misplaced: AcrPull on '{STORAGE}', which is not a container registry",
        "OnlineEndpoint endpoint (identity id-endpoint) has no AcrPull on the registry",
    ]


def test_iam_missing_and_other_type() -> None:
    iam = rule("iam-least-privilege")
    bare = policy_resource(
        ROLE_ASSIGNMENT, {"roleDefinitionId": ROLE + ACR_PULL, "scope": ACR}, "bare"
    )
    assert problems(iam, stack_args(stack(extra=(bare,)))) == [
        "bare: principalType is None (ServicePrincipal)"
    ]
    other = policy_resource(
        "azure-native:authorization:RoleDefinition", {"roleDefinitionId": ROLE + OWNER}, "def"
    )
    assert problems(iam, stack_args(stack(extra=(other,)))) == []


def test_iam_system_assigned_and_external_identities() -> None:
    iam = rule("iam-least-privilege")
    cluster = policy_resource(
        COMPUTE, {"computeName": "cpu", "identity": {"type": "SystemAssigned"}}, "cluster"
    )
    granted = policy_resource(
        ROLE_ASSIGNMENT,
        {"roleDefinitionId": ROLE + ACR_PULL, "scope": ACR, "principalType": "ServicePrincipal"},
        "cluster-pull",
        depends_on=[cluster],
    )
    assert problems(iam, stack_args(stack(extra=(cluster, granted)))) == []
    assert problems(iam, stack_args(stack(extra=(cluster,)))) == [
        "Compute cluster (system-assigned identity) has no AcrPull on the registry"
    ]
    external = policy_resource(
        COMPUTE,
        {
            "identity": {
                "type": "UserAssigned",
                "userAssignedIdentities": {f"{RG}/x/id-elsewhere": {}},
            }
        },
        "ext",
    )
    assert problems(iam, stack_args(stack(extra=(external,)))) == [
        "cannot decide: Compute ext (identity id-elsewhere) is not created by this stack, "
        "so its AcrPull cannot be seen"
    ]


# -- 16 monitoring ------------------------------------------------------------------------------------


def test_monitoring_compliant_and_violating() -> None:
    wired = rule("monitoring-wired")
    assert problems(wired, stack_args(stack())) == []
    found = problems(wired, stack_args(stack(app_insights=False, endpoint_logs=False)))
    assert found == [
        "deployment blue: properties.appInsightsEnabled is not true",
        "deployment green: properties.appInsightsEnabled is not true",
        "online endpoint score: no diagnostic setting sends its logs to Log Analytics",
    ]


def test_monitoring_missing_and_other_type() -> None:
    wired = rule("monitoring-wired")
    found = problems(wired, stack_args(stack(app_insights=None)))
    assert found == [
        "deployment blue: properties.appInsightsEnabled is not true",
        "deployment green: properties.appInsightsEnabled is not true",
    ]
    batch = policy_resource(BATCH_DEPLOYMENT, {"properties": {}}, "batch")
    assert problems(wired, stack_args(stack(extra=(batch,)))) == []


def test_monitoring_reads_state_ids() -> None:
    """In the engine's state a diagnostic setting has an `id` below its resource."""
    wired = rule("monitoring-wired")
    state = policy_resource(
        DIAGNOSTIC_SETTING,
        {
            "id": f"{WS}/onlineEndpoints/score/providers/microsoft.insights/diagnosticSettings/d",
            "workspaceId": "/log",
        },
        "state",
    )
    assert problems(wired, stack_args(stack(endpoint_logs=False, extra=(state,)))) == []


# -- 21 secrets -------------------------------------------------------------------------------------


@pytest.fixture
def config() -> Iterator[None]:
    yield
    pulumi.runtime.set_all_config({}, [])


def test_secrets_config(config: None) -> None:
    secrets = rule("secrets-not-plaintext")
    pulumi.runtime.set_all_config(
        {"azure-native:clientSecret": "s3cret", "amlkit:environment": '{"name": "dev"}'},
        ["azure-native:clientSecret"],
    )
    assert problems(secrets, stack_args(stack())) == []
    pulumi.runtime.set_all_config(
        {
            "azure-native:clientSecret": "s3cret",
            "app:settings": json.dumps(
                {"db": {"connection_string": "Server=x"}, "auth_mode": "key"}
            ),
        },
        [],
    )
    assert problems(secrets, stack_args(stack())) == [
        "config app:settings.db.connection_string holds a credential in plain text",
        "config azure-native:clientSecret holds a credential in plain text",
    ]


def test_secrets_missing_and_other_type(config: None) -> None:
    secrets = rule("secrets-not-plaintext")
    pulumi.runtime.set_all_config({}, [])
    assert problems(secrets, stack_args(stack())) == []
    # Offline, outputs are marked: "[secret]" passes, clear text does not.
    outputs = policy_resource(STACK_OUTPUTS, {"primaryKey": "[secret]", "uri": "https://x"}, "out")
    assert problems(secrets, stack_args(stack(extra=(outputs,)))) == []
    leaked = policy_resource(STACK_OUTPUTS, {"endpoint": {"primaryKey": "abc"}}, "out")
    assert problems(secrets, stack_args(stack(extra=(leaked,)))) == [
        "stack output outputs.endpoint.primaryKey carries a credential in clear"
    ]
    # Other resources' inputs are not read (the engine hands secrets to packs unwrapped).
    other = policy_resource(ROLE_ASSIGNMENT, {"password": "abc"}, "other")
    assert problems(secrets, stack_args(stack(extra=(other,)))) == []


# -- unknowns --------------------------------------------------------------------------------------------


def test_stack_rule_with_unknown_value_cannot_decide() -> None:
    found = problems(rule("aml-endpoint-traffic"), stack_args(stack(traffic={"blue": UNKNOWN})))
    assert len(found) == 1 and found[0].startswith("cannot decide: the ")
    found = problems(
        rule("iam-least-privilege"),
        stack_args(
            stack(extra=(policy_resource(ROLE_ASSIGNMENT, {"roleDefinitionId": UNKNOWN}, "later"),))
        ),
    )
    assert found and found[0].startswith("cannot decide: the string value at .roleDefinitionId")


def test_traffic_from_the_components_registered_outputs() -> None:
    """Under the CLI a stack policy sees a component's outputs, not its inputs."""
    state = policy_resource(
        ENDPOINT_TRAFFIC,
        {
            "endpointName": "score",
            "traffic": {"blue": 100.0},
            "mirror_traffic": {"green": 60.0},
            "applied": False,
        },
        "traffic-state",
    )
    resources = [r for r in stack() if r.resource_type != ENDPOINT_TRAFFIC] + [state]
    assert problems(rule("aml-endpoint-mirror-traffic"), stack_args(resources)) == [
        "score: mirror_traffic['green'] is 60 (0-50)"
    ]
    assert problems(rule("aml-endpoint-traffic"), stack_args(resources)) == []
