"""A batch endpoint's default deployment, written to Azure: the provider against
the Azure stand-in, the stand-in's own rules, and whole `pulumi up` runs of the
batch endpoint component replayed against it (`tests/engine_replay.py`).

The stand-in takes the worst reading of an endpoint PUT (it replaces `defaults`
wholesale) and records the default every batch endpoint held after each write
it committed; the scenario checks run over that timeline and print it on failure.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from amlkit.components.asset_catalog import AssetCatalog, AssetCatalogArgs
from amlkit.components.batch_endpoint import BatchEndpoint, BatchEndpointArgs
from amlkit.components.dynamic.arm_client import ArmClient, ArmError
from amlkit.components.dynamic.batch_default import BatchDefault
from amlkit.components.dynamic.endpoint_setting import EndpointSettingProvider
from amlkit.components.workspace_ref import WorkspaceRef
from amlkit.plan.mock_engine import run_program
from amlkit.specs import StackEnvironment
from amlkit.specs.batch_endpoint import BatchEndpointSpec
from tests.azure_standin import Standin, standin_credential
from tests.engine_replay import EngineReplay, StepFailed

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
WS = "/subscriptions/0/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/ws"
EP = f"{WS}/batchEndpoints/nightly"
CLUSTER = f"{WS}/computes/cpu-cluster"
DEFAULT_ENV = f"{WS}/environments/amlkit-scoring/versions/abc"


@pytest.fixture
def provider(standin: Standin) -> EndpointSettingProvider:
    return EndpointSettingProvider(BatchDefault(), standin.base_url, standin_credential)


def _endpoint(arm: ArmClient, *deployments: str, default: str | None = None) -> None:
    """PUT the endpoint, then its deployments, then (with `default`) the endpoint again."""

    def put(extra: dict[str, Any]) -> None:
        arm.put(
            EP,
            {
                "location": "westeurope",
                "identity": {"type": "SystemAssigned"},
                "tags": {"team": "fraud"},
                "properties": {"authMode": "AADToken", "description": "nightly", **extra},
            },
        )

    put({})
    for name in deployments:
        arm.put(f"{EP}/deployments/{name}", {"properties": {"compute": CLUSTER}})
    if default:
        put({"defaults": {"deploymentName": default}})


def _props(default: str, *deployments: str, **extra: Any) -> dict[str, Any]:
    return {
        "workspaceId": WS,
        "endpointName": "nightly",
        "deploymentName": default,
        "deployments": list(deployments or (default,)),
        **extra,
    }


def _default(arm: ArmClient) -> str | None:
    held = arm.get(EP)
    assert held is not None
    name: str | None = held["properties"]["defaults"]["deploymentName"]
    return name


# ----- the stand-in's rules ------------------------------------------------------


def test_the_standin_refuses_a_default_that_does_not_exist(arm: ArmClient) -> None:
    _endpoint(arm, "gen1")
    with pytest.raises(ArmError, match=r"400 BadRequest: defaults.deploymentName 'gen2' is not"):
        _endpoint(arm, default="gen2")
    assert _default(arm) is None


def test_the_standin_takes_a_put_without_defaults_as_no_default(arm: ArmClient) -> None:
    """The worst reading of an undocumented behaviour, which amlkit's design must survive."""
    _endpoint(arm, "gen1", default="gen1")
    assert _default(arm) == "gen1"
    _endpoint(arm)  # a PUT of the endpoint that omits `defaults`
    assert _default(arm) is None


def test_the_standin_takes_entra_tokens_only_and_deployments_need_compute(
    arm: ArmClient,
) -> None:
    with pytest.raises(ArmError, match="batch endpoints take AADToken only"):
        arm.put(EP, {"location": "westeurope", "properties": {"authMode": "Key"}})
    _endpoint(arm)
    with pytest.raises(ArmError, match=r"properties\.compute is required"):
        arm.put(f"{EP}/deployments/gen1", {"properties": {}})


# ----- the provider --------------------------------------------------------------


def test_create_writes_the_default_and_keeps_the_rest(
    standin: Standin, arm: ArmClient, provider: EndpointSettingProvider
) -> None:
    _endpoint(arm, "gen1", "gen2")
    standin.state.requests.clear()
    result = provider.create(_props("gen2", "gen1", "gen2"))
    assert result.id == EP and result.outs is not None
    assert (result.outs["applied"], result.outs["liveDeploymentName"]) == (True, "gen2")
    sent = [r.split(" ")[0] + " " + r.rsplit("/", 1)[-1] for r in standin.state.requests]
    assert sent[:2] == ["GET nightly", "PUT nightly"] and sent[-1] == "GET nightly"
    held = arm.get(EP)
    assert held is not None
    assert held["properties"]["defaults"] == {"deploymentName": "gen2"}
    assert held["tags"] == {"team": "fraud"}
    assert held["identity"] == {"type": "SystemAssigned"}
    assert held["properties"]["description"] == "nightly"


def test_update_moves_the_default(arm: ArmClient, provider: EndpointSettingProvider) -> None:
    _endpoint(arm, "gen1", "gen2", default="gen1")
    result = provider.update(EP, _props("gen1", "gen1", "gen2"), _props("gen2", "gen1", "gen2"))
    assert result.outs is not None and result.outs["liveDeploymentName"] == "gen2"
    assert _default(arm) == "gen2"


def test_check_refuses_a_default_that_is_not_a_deployment_before_sending() -> None:
    provider = EndpointSettingProvider(BatchDefault(), "https://unreachable.invalid")
    result = provider.check({}, _props("gen3", "gen1", "gen2"))
    assert [(f.property, f.reason) for f in result.failures] == [
        (
            "deploymentName",
            "batch endpoint nightly: defaults.deployment_name 'gen3' is not one of its "
            "deployments ['gen1', 'gen2']",
        )
    ]
    missing = provider.check({}, {"deploymentName": "gen1", "deployments": ["gen1"]})
    assert sorted(f.property for f in missing.failures) == ["endpointName", "workspaceId"]
    assert provider.check({}, _props("GEN1", "gen1")).failures == []  # names are case-insensitive


def test_diff_updates_in_place_and_replaces_for_another_endpoint() -> None:
    provider = EndpointSettingProvider(BatchDefault())
    old = _props("gen1", "gen1", "gen2")
    assert provider.diff("id", old, _props("gen1", "gen1", "gen2", applied=True)).changes is False
    assert provider.diff("id", old, _props("GEN1", "gen1", "gen2")).changes is False
    moved = provider.diff("id", old, _props("gen2", "gen1", "gen2"))
    assert (moved.changes, moved.replaces) == (True, [])
    other = provider.diff("id", old, {**old, "endpointName": "other"})
    assert (other.changes, other.replaces) == (True, ["endpointName"])


def test_azure_refusals_surface_with_azure_message(
    arm: ArmClient, provider: EndpointSettingProvider
) -> None:
    _endpoint(arm, "gen1")  # gen2 is in the config but not (yet) in Azure
    with pytest.raises(ArmError, match=r"400 BadRequest: defaults.deploymentName 'gen2' is not"):
        provider.create(_props("gen2", "gen1", "gen2"))
    with pytest.raises(ArmError, match="does not exist; its default deployment cannot be set"):
        provider.create(_props("gen1", endpointName="missing"))


def test_read_takes_the_default_azure_holds_and_delete_leaves_azure_alone(
    standin: Standin, arm: ArmClient, provider: EndpointSettingProvider
) -> None:
    _endpoint(arm, "gen1", "gen2", default="gen2")
    read = provider.read(EP, _props("gen1", "gen1", "gen2"))
    assert read.outs is not None
    assert (read.outs["deploymentName"], read.outs["liveDeploymentName"]) == ("gen2", "gen2")
    standin.state.requests.clear()
    provider.delete(EP, _props("gen2", "gen1", "gen2"))
    assert standin.state.requests == []
    assert _default(arm) == "gen2"
    arm.delete(EP)
    assert provider.read(EP, _props("gen2")).id is None  # gone: refresh drops it


# ----- whole runs of the component -----------------------------------------------


def _config(default: str | None, *deployments: str, **endpoint: Any) -> dict[str, Any]:
    return {
        "name": "nightly",
        **({"defaults": {"deployment_name": default}} if default else {}),
        "deployments": [
            {
                "name": d,
                "model": "azureml:classifier:3",
                "code_configuration": {"code": "azureml:batch-code:2", "scoring_script": "b.py"},
                "compute": "azureml:cpu-cluster",
            }
            for d in deployments
        ],
        **endpoint,
    }


class Runs:
    """Renders the batch endpoint per config and replays the engine's steps."""

    def __init__(
        self, standin: Standin, environment: StackEnvironment, workspace: WorkspaceRef
    ) -> None:
        self.standin, self.environment, self.workspace = standin, environment, workspace
        self.engine = EngineReplay(standin, standin_credential)

    def up(self, run: str, config: dict[str, Any]) -> dict[str, Any]:
        spec = BatchEndpointSpec.model_validate(config)
        ws, environment = self.workspace, self.environment

        def program() -> None:
            assets = AssetCatalog(
                "assets",
                AssetCatalogArgs(
                    workspace=ws, uses=spec.asset_uses(), batch_environment_id=DEFAULT_ENV
                ),
            )
            BatchEndpoint(
                "batch-nightly",
                BatchEndpointArgs(
                    spec=spec,
                    environment=environment,
                    workspace=ws,
                    compute_ids={"cpu-cluster": f"{ws.workspace_id}/computes/cpu-cluster"},
                    assets=assets.ids,
                ),
            )

        self.standin.state.label = f"{run}: program"
        recording = run_program(program, project="amlkit", stack="test", mocks=self.engine.mocks())
        self.engine.up(recording, run)
        endpoint = recording.one("azure-native:machinelearningservices:BatchEndpoint")
        return {"sent_defaults": endpoint.inputs["properties"].get("defaults")}

    def timeline(self) -> list[tuple[str, str, str | None]]:
        return [(c.label, c.request, c.defaults.get("nightly")) for c in self.standin.state.history]

    def table(self) -> str:
        return "\n".join(f"{label:<44} {request:<34} {d}" for label, request, d in self.timeline())

    def default(self) -> str | None:
        return self.standin.state.batch.defaults().get("nightly")


@pytest.fixture
def runs(standin: Standin, environment: StackEnvironment, workspace_ref: WorkspaceRef) -> Runs:
    return Runs(standin, environment, workspace_ref)


def test_create_switch_retag_retire_and_destroy_never_leave_no_default(runs: Runs) -> None:
    runs.up("create", _config(None, "gen1"))
    assert runs.default() == "gen1", runs.table()

    runs.up("add gen2 as default", _config("gen2", "gen1", "gen2"))
    assert runs.default() == "gen2", runs.table()
    # The endpoint's input catches up with the default the first run wrote (gen1
    # stays), gen2 is created, and only then does the default move to it.
    writes = [(r, d) for label, r, d in runs.timeline() if label.startswith("add gen2")]
    assert writes == [
        ("PUT batch endpoint nightly", "gen1"),
        ("PUT batch deployment gen2", "gen1"),
        ("PUT batch endpoint nightly", "gen2"),
    ], runs.table()

    sent = runs.up("tag", _config("gen2", "gen1", "gen2", tags={"team": "fraud"}))
    # The endpoint's PUT carries the default Azure holds, so a tag change keeps it.
    assert sent["sent_defaults"] == {"deploymentName": "gen2"}
    assert runs.default() == "gen2", runs.table()

    runs.up("retire gen2, back to gen1", _config("gen1", "gen1"))
    # (The tag goes too: the endpoint's own PUT keeps gen2, the default moves to
    # gen1, and only then is gen2 deleted.)
    retire = [(r, d) for label, r, d in runs.timeline() if label.startswith("retire")]
    assert retire == [
        ("PUT batch endpoint nightly", "gen2"),
        ("PUT batch endpoint nightly", "gen1"),
        ("DELETE batch deployment gen2", "gen1"),
    ], runs.table()
    assert runs.default() == "gen1"

    after_first = [d for label, _, d in runs.timeline() if not label.startswith("create")]
    assert None not in after_first, runs.table()
    assert runs.standin.state.batch.deployment_names() == {"nightly": ["gen1"]}

    runs.engine.destroy("destroy")
    assert runs.standin.state.batch.defaults() == {}, runs.table()


def test_the_endpoint_catches_up_once_then_nothing_is_written(runs: Runs) -> None:
    runs.up("create", _config("gen2", "gen1", "gen2"))
    assert runs.default() == "gen2", runs.table()
    # The next render reads the default Azure now holds: the endpoint's input
    # catches up with it (a PUT that changes nothing live)...
    assert runs.up("again", _config("gen2", "gen1", "gen2"))["sent_defaults"] == {
        "deploymentName": "gen2"
    }
    again = [(r, d) for label, r, d in runs.timeline() if label.startswith("again")]
    assert again == [("PUT batch endpoint nightly", "gen2")], runs.table()
    # ...and then the stack is at rest.
    runs.up("rest", _config("gen2", "gen1", "gen2"))
    assert [r for label, r, _ in runs.timeline() if label.startswith("rest")] == []


def test_a_default_that_azure_refuses_stops_the_run_with_azure_reason(runs: Runs) -> None:
    runs.up("create", _config("gen1", "gen1", "gen2"))
    # gen2 is deleted outside Pulumi; the state still holds it (no refresh).
    runs.engine.arm.delete(f"{runs.workspace.workspace_id}/batchEndpoints/nightly/deployments/gen2")
    with pytest.raises(StepFailed, match=r"defaults.deploymentName 'gen2' is not a deployment"):
        runs.up("switch", _config("gen2", "gen1", "gen2"))
    assert runs.default() == "gen1", runs.table()
