"""The traffic provider and its ARM client, against the Azure stand-in; and the
stand-in's own rules (a test double that does not enforce Azure's rules would
let the scenarios pass for nothing)."""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any

import httpx
import pytest
from azure.core.credentials import AccessToken

from amlkit.components.dynamic.arm_client import ArmClient, ArmError
from amlkit.components.dynamic.endpoint_setting import EndpointSettingProvider
from amlkit.components.dynamic.online_traffic import OnlineTraffic
from tests.azure_standin import API_VERSION, Standin, standin_credential

ROOT = Path(__file__).resolve().parents[2]
WS = "/subscriptions/0/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/ws"
EP = f"{WS}/onlineEndpoints/score"


@pytest.fixture
def provider(standin: Standin) -> EndpointSettingProvider:
    return EndpointSettingProvider(OnlineTraffic(), standin.base_url, standin_credential)


def _endpoint(arm: ArmClient, *deployments: str, kind: str = "Managed", **props: Any) -> None:
    """PUT the endpoint, then its deployments, then (with `props`, e.g. traffic) the endpoint again."""

    def put(extra: dict[str, Any]) -> None:
        arm.put(
            EP,
            {
                "location": "westeurope",
                "kind": kind,
                "identity": {"type": "SystemAssigned"},
                "tags": {"team": "fraud"},
                "properties": {"authMode": "AMLToken", **extra},
            },
        )

    if arm.get(EP) is None:
        put({})
    for name in deployments:
        arm.put(
            f"{EP}/deployments/{name}",
            {"location": "westeurope", "properties": {"endpointComputeType": kind}},
        )
    if props or not deployments:
        put(props)


def _props(
    traffic: dict[str, Any], mirror: dict[str, Any] | None = None, **extra: Any
) -> dict[str, Any]:
    return {
        "workspaceId": WS,
        "endpointName": "score",
        "endpointKind": "managed",
        "deployments": ["blue", "green"],
        "traffic": traffic,
        "mirrorTraffic": mirror or {},
        **extra,
    }


# ----- check and diff: before anything is sent --------------------------------


@pytest.mark.parametrize(
    ("traffic", "mirror", "extra", "reason"),
    [
        ({"blue": 100}, {"blue": 10}, {}, "'blue' has live traffic"),
        ({"blue": 100}, {"green": 60}, {}, "Azure mirrors at most 50%"),
        (
            {"blue": 100},
            {"green": 10, "red": 5},
            {"deployments": ["blue", "green", "red"]},
            "one deployment at most",
        ),
        (
            {"blue": 100},
            {"green": 10},
            {"endpointKind": "kubernetes"},
            "Kubernetes endpoints do not support",
        ),
        ({"blue": 90.0}, {}, {}, "traffic sums to 90"),
        ({"blue": 50, "red": 50}, {}, {}, "not deployments of this endpoint"),
        ({"blue": 99.5, "green": 0.5}, {}, {}, "whole percents"),
    ],
)
def test_check_refuses_what_azure_would_refuse(
    traffic: dict[str, Any], mirror: dict[str, Any], extra: dict[str, Any], reason: str
) -> None:
    result = EndpointSettingProvider(OnlineTraffic(), "https://unreachable.invalid").check(
        {}, _props(traffic, mirror, **extra)
    )
    assert result.failures and reason in result.failures[0].reason


def test_check_turns_engine_floats_into_whole_percents() -> None:
    result = EndpointSettingProvider(OnlineTraffic()).check(
        {}, _props({"blue": 90.0, "green": 10.0}, {})
    )
    assert result.failures == []
    assert result.inputs["traffic"] == {"blue": 90, "green": 10}


def test_diff_a_new_split_is_an_in_place_update() -> None:
    provider = EndpointSettingProvider(OnlineTraffic())
    old = _props({"blue": 90, "green": 10})
    assert provider.diff("id", old, _props({"blue": 90.0, "green": 10.0})).changes is False
    with_zero = _props({"blue": 90, "green": 10, "red": 0})
    assert provider.diff("id", old, with_zero).changes is False
    shifted = provider.diff("id", old, _props({"blue": 50, "green": 50}))
    assert (shifted.changes, shifted.replaces) == (True, [])
    mirrored = provider.diff("id", old, _props({"blue": 90, "green": 10}, {"green": 5}))
    assert (mirrored.changes, mirrored.replaces) == (True, [])
    moved = provider.diff("id", old, {**old, "endpointName": "other"})
    assert (moved.changes, moved.replaces) == (True, ["endpointName"])


# ----- create, update, delete, read over ARM -----------------------------------


def test_create_writes_the_split_and_reports_what_azure_holds(
    standin: Standin, arm: ArmClient, provider: EndpointSettingProvider
) -> None:
    _endpoint(arm, "blue", "green")
    standin.state.requests.clear()
    result = provider.create(_props({"blue": 90, "green": 10}, {}))
    assert result.id == EP and result.outs is not None
    assert result.outs["applied"] is True
    assert result.outs["liveTraffic"] == {"blue": 90, "green": 10}
    sent = [r.split(" ")[0] + " " + r.rsplit("/", 1)[-1] for r in standin.state.requests]
    # GET, PUT, poll the Azure-AsyncOperation until done, GET the result, GET to verify.
    assert sent == ["GET score", "PUT score", "GET op-4", "GET op-4", "GET score", "GET score"]
    held = arm.get(EP)
    assert held is not None
    # Everything else is as Azure held it.
    assert held["tags"] == {"team": "fraud"}
    assert held["identity"] == {"type": "SystemAssigned"}
    assert held["properties"]["authMode"] == "AMLToken"


def test_update_moves_traffic_and_mirror_in_one_write(
    standin: Standin, arm: ArmClient, provider: EndpointSettingProvider
) -> None:
    _endpoint(arm, "blue", "green", traffic={"blue": 100})
    result = provider.update(
        EP, _props({"blue": 100}), _props({"blue": 0, "green": 100}, {"blue": 30})
    )
    assert result.outs is not None
    assert (result.outs["liveTraffic"], result.outs["liveMirrorTraffic"]) == (
        {"blue": 0, "green": 100},
        {"blue": 30},
    )


def test_azure_refusals_surface_with_azure_message(
    arm: ArmClient, provider: EndpointSettingProvider
) -> None:
    _endpoint(arm, "blue")  # green does not exist in Azure
    with pytest.raises(
        ArmError,
        match=r"400 BadRequest: traffic names deployments that do not exist on this endpoint: \['green'\]",
    ):
        provider.create(_props({"blue": 50, "green": 50}))
    with pytest.raises(ArmError, match="does not exist; its traffic cannot be set"):
        EndpointSettingProvider(OnlineTraffic(), arm.base_url, standin_credential).create(
            _props({"blue": 100}, endpointName="missing")
        )


def test_delete_sets_everything_to_zero_and_tolerates_a_gone_endpoint(
    arm: ArmClient, provider: EndpointSettingProvider
) -> None:
    _endpoint(arm, "blue", "green", traffic={"blue": 100}, mirrorTraffic={"green": 20})
    provider.delete(EP, _props({"blue": 100}, {"green": 20}))
    held = arm.get(EP)
    assert held is not None
    assert held["properties"]["traffic"] == {"blue": 0}
    assert held["properties"]["mirrorTraffic"] == {"green": 0}
    arm.delete(f"{EP}/deployments/blue")  # now allowed
    arm.delete(EP)
    provider.delete(EP, _props({}))  # nothing left to do


def test_read_reports_the_live_split(arm: ArmClient, provider: EndpointSettingProvider) -> None:
    _endpoint(arm, "blue", "green", traffic={"blue": 30, "green": 70})
    read = provider.read(EP, _props({"blue": 100}))
    assert read.outs is not None and read.outs["liveTraffic"] == {"blue": 30, "green": 70}
    # Changed outside Pulumi: the refreshed state differs from the config, so `up` writes it back.
    assert provider.diff(EP, read.outs, _props({"blue": 100})).changes is True
    arm.delete(EP)
    assert provider.read(EP, _props({})).id is None


def test_a_wrong_token_is_refused(standin: Standin) -> None:
    class Wrong:
        def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
            return AccessToken("not-the-token", 2**31)

    with pytest.raises(ArmError, match="401 AuthenticationFailed"):
        ArmClient(Wrong(), standin.base_url).get(EP)


# ----- the stand-in enforces Azure's rules ------------------------------------


def test_standin_put_replaces_traffic_wholesale(arm: ArmClient) -> None:
    """The worst reading of an undocumented behaviour, on purpose."""
    _endpoint(arm, "blue", traffic={"blue": 100})
    _endpoint(arm)  # the same endpoint PUT again, without traffic
    held = arm.get(EP)
    assert held is not None and held["properties"]["traffic"] == {}


@pytest.mark.parametrize(
    ("props", "kind", "message"),
    [
        ({"traffic": {"blue": 60}}, "Managed", "sum to 0 or 100"),
        ({"traffic": {"blue": 100}, "mirrorTraffic": {"blue": 10}}, "Managed", "has live traffic"),
        ({"traffic": {"blue": 100}, "mirrorTraffic": {"green": 51}}, "Managed", "at most 50%"),
        (
            {"traffic": {"blue": 100}, "mirrorTraffic": {"green": 10}},
            "Kubernetes",
            "not supported on Kubernetes",
        ),
        ({"traffic": {"blue": 50.5, "green": 49.5}}, "Managed", "must be an integer"),
    ],
)
def test_standin_refuses_a_split_azure_refuses(
    arm: ArmClient, props: dict[str, Any], kind: str, message: str
) -> None:
    _endpoint(arm, "blue", "green", kind=kind)
    with pytest.raises(ArmError, match=message):
        _endpoint(arm, kind=kind, **props)


def test_standin_refuses_deleting_a_deployment_with_live_traffic(arm: ArmClient) -> None:
    _endpoint(arm, "blue", "green", traffic={"blue": 100})
    with pytest.raises(ArmError, match="receives 100% of live traffic"):
        arm.delete(f"{EP}/deployments/blue")
    arm.delete(f"{EP}/deployments/green")
    assert arm.get(f"{EP}/deployments/green") is None


def test_standin_patch_takes_tags_and_identity_only(arm: ArmClient, standin: Standin) -> None:
    _endpoint(arm, "blue", traffic={"blue": 100})
    headers = {"Authorization": "Bearer standin-token"}
    with httpx.Client(
        verify=ssl.create_default_context(cafile=standin.ca_file), base_url=standin.base_url
    ) as client:
        refused = client.patch(
            EP,
            params={"api-version": API_VERSION},
            headers=headers,
            json={"properties": {"traffic": {}}},
        )
        assert refused.status_code == 400
        assert "tags and identity only" in refused.json()["error"]["message"]
        no_token = client.get(EP, params={"api-version": API_VERSION})
        assert no_token.status_code == 401
        old_api = client.get(EP, params={"api-version": "2020-08-01"}, headers=headers)
        assert old_api.json()["error"]["code"] == "InvalidApiVersionParameter"
