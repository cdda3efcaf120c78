"""The six traffic behaviours of issue 4, end to end against the Azure stand-in.

Each scenario renders the online endpoint component once per config step under
the mock runtime, then replays the engine's steps for that run
(`tests/engine_replay.py`) against the stand-in, which enforces Azure's rules
and takes the worst reading of an endpoint PUT (it replaces traffic wholesale).
Every write the stand-in commits is recorded with the split it held afterwards;
the checks run over that timeline and print it when they fail.
"""

from __future__ import annotations

from typing import Any

import pytest

from amlkit.components.asset_catalog import AssetCatalog, AssetCatalogArgs
from amlkit.components.online_endpoint import OnlineEndpoint, OnlineEndpointArgs
from amlkit.components.workspace_ref import RoleScopes, WorkspaceRef
from amlkit.plan.mock_engine import Recording, run_program
from amlkit.specs import OnlineEndpointSpec, StackEnvironment
from tests.azure_standin import Change, Standin, standin_credential
from tests.engine_replay import EngineReplay, StepFailed

pytestmark = pytest.mark.slow

DEFAULT_ENV = "/subscriptions/0/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/ws/environments/amlkit-scoring/versions/abc"
ENDPOINT = "score"


def _deployment(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "model": "azureml:classifier:3",
        "code_configuration": {"code": "azureml:scoring-code:1", "scoring_script": "score.py"},
        "instance_type": "Standard_DS3_v2",
        "instance_count": 1,
    }


def _config(
    traffic: dict[str, int],
    mirror: dict[str, int] | None = None,
    deployments: tuple[str, ...] = ("blue", "green"),
    **endpoint: Any,
) -> dict[str, Any]:
    return {
        "name": ENDPOINT,
        "auth_mode": "key",
        "traffic": traffic,
        "mirror_traffic": mirror or {},
        "deployments": [_deployment(d) for d in deployments],
        **endpoint,
    }


class Scenario:
    """Runs config steps through render + engine replay, keeping the timeline."""

    def __init__(
        self,
        standin: Standin,
        environment: StackEnvironment,
        workspace: WorkspaceRef,
        role_scopes: RoleScopes,
    ) -> None:
        self.standin, self.environment = standin, environment
        self.workspace, self.role_scopes = workspace, role_scopes
        self.engine = EngineReplay(standin, standin_credential)
        self.runs: list[tuple[str, dict[str, Any] | None]] = []
        self.last: Recording | None = None

    def up(self, run: str, config: dict[str, Any]) -> Recording:
        self.runs.append((run, config))
        self.standin.state.label = f"{run}: program"
        recording = self.render(config)
        self.engine.up(recording, run)
        self.last = recording
        return recording

    def destroy(self, run: str = "destroy") -> None:
        self.runs.append((run, None))
        self.engine.destroy(run)

    def render(self, config: dict[str, Any]) -> Recording:
        spec = OnlineEndpointSpec.model_validate(config)
        ws, environment, scopes = self.workspace, self.environment, self.role_scopes

        def program() -> None:
            assets = AssetCatalog(
                "assets",
                AssetCatalogArgs(
                    workspace=ws, uses=spec.asset_uses(), default_environment_id=DEFAULT_ENV
                ),
            )
            OnlineEndpoint(
                f"online-{ENDPOINT}",
                OnlineEndpointArgs(
                    spec=spec,
                    environment=environment,
                    workspace=ws,
                    role_scopes=scopes,
                    identities={},
                    assets=assets.ids,
                ),
            )

        return run_program(program, project="amlkit", stack="test", mocks=self.engine.mocks())

    @property
    def timeline(self) -> list[Change]:
        return self.standin.state.history

    def table(self) -> str:
        rows = [f"{'#':>3}  {'engine step':<52} {'request':<28} {'live traffic':<26} mirror"]
        for c in self.timeline:
            rows.append(
                f"{c.seq:>3}  {c.label:<52} {c.request:<28} "
                f"{_fmt(c.traffic.get(ENDPOINT)):<26} {_fmt(c.mirror.get(ENDPOINT))}"
            )
        configs = [
            f"  {run}: {_fmt(cfg['traffic']) if cfg else 'destroy'}" for run, cfg in self.runs
        ]
        return "\nconfig by run:\n" + "\n".join(configs) + "\ntimeline:\n" + "\n".join(rows)

    def live(self) -> dict[str, int]:
        return {k: v for k, v in self.standin.state.online.live().get(ENDPOINT, {}).items() if v}

    def mirrored(self) -> dict[str, int]:
        return {
            k: v for k, v in self.standin.state.online.mirrored().get(ENDPOINT, {}).items() if v
        }

    def check_never_dropped(self) -> None:
        """Once traffic was applied, no committed write left it at zero while the
        config of the run before and of the run in progress both ask for traffic."""
        wanted = {run: bool(cfg and sum(cfg["traffic"].values())) for run, cfg in self.runs}
        order = [run for run, _ in self.runs]
        applied = False
        for change in self.timeline:
            run = change.label.split(":", 1)[0]
            if run not in wanted:
                continue
            before = order[order.index(run) - 1] if order.index(run) > 0 else None
            live = sum(change.traffic.get(ENDPOINT, {}).values())
            applied = applied or live > 0
            if applied and wanted[run] and (before is None or wanted[before]):
                assert live == 100, f"step {change.seq} left live traffic at {live}%" + self.table()

    def check_applied(self, config: dict[str, Any]) -> None:
        expected = ({k: v for k, v in config["traffic"].items() if v}, config["mirror_traffic"])
        assert (self.live(), self.mirrored()) == expected, (
            "the stand-in does not hold the config's split" + self.table()
        )


@pytest.fixture
def scenario(
    standin: Standin,
    environment: StackEnvironment,
    workspace_ref: WorkspaceRef,
    role_scopes: RoleScopes,
) -> Scenario:
    return Scenario(standin, environment, workspace_ref, role_scopes)


def _requests(scenario: Scenario, run: str) -> list[str]:
    return [c.request for c in scenario.timeline if c.label.startswith(f"{run}:")]


def _steps(scenario: Scenario, run: str) -> list[tuple[str, str, dict[str, int] | None]]:
    """(engine step, request, live traffic after it) for each write of one run."""
    return [
        (c.label.split(": ", 1)[1], c.request, c.traffic.get(ENDPOINT))
        for c in scenario.timeline
        if c.label.startswith(f"{run}:")
    ]


def test_rollout_from_create_to_destroy_never_drops_traffic(scenario: Scenario) -> None:
    steps = [
        ("create", _config({"blue": 90, "green": 10})),
        ("shift 50/50", _config({"blue": 50, "green": 50})),
        ("shift 0/100", _config({"blue": 0, "green": 100})),
        ("mirror", _config({"blue": 0, "green": 100}, {"blue": 20})),
        ("tag", _config({"blue": 0, "green": 100}, {"blue": 20}, tags={"team": "fraud"})),
        (
            "auth mode",
            _config(
                {"blue": 0, "green": 100},
                {"blue": 20},
                tags={"team": "fraud"},
                auth_mode="aml_token",
                description="scores card payments",
            ),
        ),
        ("remove blue", _config({"green": 100}, deployments=("green",))),
    ]
    for run, config in steps:
        scenario.up(run, config)
        scenario.check_applied(config)
    scenario.destroy()
    scenario.check_never_dropped()
    table = scenario.table()
    split, endpoint = "online-score-traffic", "online-score"

    # 1. One run creates the endpoint, both deployments, then the split.
    create = _steps(scenario, "create")
    assert create[0] == ("create online-score", "PUT endpoint score", {}), table
    assert {s[:2] for s in create[1:3]} == {
        ("create online-score-blue", "PUT deployment blue"),
        ("create online-score-green", "PUT deployment green"),
    }, table
    assert create[3:] == [(f"create {split}", "PUT endpoint score", {"blue": 90, "green": 10})]
    # 2. A new split is an in-place update of the traffic resource. The endpoint's
    #    own update before it only catches its inputs up with the live split it
    #    read (the cost named in online_endpoint.py): it writes what Azure holds.
    for run, before, after in (
        ("shift 50/50", {"blue": 90, "green": 10}, {"blue": 50, "green": 50}),
        ("shift 0/100", {"blue": 50, "green": 50}, {"blue": 0, "green": 100}),
        ("mirror", {"blue": 0, "green": 100}, {"blue": 0, "green": 100}),
    ):
        assert _steps(scenario, run) == [
            (f"update {endpoint}", "PUT endpoint score", before),
            (f"update {split}", "PUT endpoint score", after),
        ], table
    assert [c.mirror[ENDPOINT] for c in scenario.timeline if c.label.startswith("mirror:")] == [
        {},
        {"blue": 20},
    ], table
    # 3. A tag, auth-mode or description change PUTs the endpoint with the live split.
    for run in ("tag", "auth mode"):
        assert _steps(scenario, run) == [
            (f"update {endpoint}", "PUT endpoint score", {"blue": 0, "green": 100})
        ], table
    assert scenario.standin.state.history[11].mirror[ENDPOINT] == {"blue": 20}, table
    # 4. Removing blue: its mirror moves off first, then it is deleted.
    assert _steps(scenario, "remove blue")[-2:] == [
        (f"update {split}", "PUT endpoint score", {"green": 100}),
        ("delete online-score-blue", "DELETE deployment blue", {"green": 100}),
    ], table
    # 5. Destroy: traffic to zero, then the deployment, then the endpoint.
    assert [s[:2] for s in _steps(scenario, "destroy")] == [
        (f"delete {split}", "PUT endpoint score"),
        ("delete online-score-green", "DELETE deployment green"),
        (f"delete {endpoint}", "DELETE endpoint score"),
    ], table
    assert _steps(scenario, "destroy")[0][2] == {"green": 0}, table
    assert scenario.standin.state.online.endpoints == {}


def test_removing_a_deployment_with_live_traffic_moves_it_first(scenario: Scenario) -> None:
    scenario.up("create", _config({"blue": 50, "green": 50}))
    scenario.up("remove green", _config({"blue": 100}, deployments=("blue",)))
    scenario.check_never_dropped()
    table = scenario.table()
    assert _steps(scenario, "remove green")[-2:] == [
        ("update online-score-traffic", "PUT endpoint score", {"blue": 100}),
        ("delete online-score-green", "DELETE deployment green", {"blue": 100}),
    ], table
    assert scenario.standin.state.online.deployment_names() == {ENDPOINT: ["blue"]}, table


def test_a_traffic_change_and_a_tag_change_in_one_run(scenario: Scenario) -> None:
    scenario.up("create", _config({"blue": 100, "green": 0}))
    config = _config({"blue": 10, "green": 90}, tags={"release": "2"})
    scenario.up("both", config)
    scenario.check_applied(config)
    scenario.check_never_dropped()
    # The endpoint goes first and keeps the live split; then the new split.
    assert _steps(scenario, "both") == [
        ("update online-score", "PUT endpoint score", {"blue": 100, "green": 0}),
        ("update online-score-traffic", "PUT endpoint score", {"blue": 10, "green": 90}),
    ], scenario.table()


def test_a_new_deployment_gets_traffic_only_once_it_exists(scenario: Scenario) -> None:
    scenario.up("create", _config({"blue": 100}, deployments=("blue",)))
    config = _config({"blue": 80, "green": 20})
    scenario.up("add green", config)
    scenario.check_applied(config)
    scenario.check_never_dropped()
    assert _steps(scenario, "add green")[-2:] == [
        ("create online-score-green", "PUT deployment green", {"blue": 100}),
        ("update online-score-traffic", "PUT endpoint score", {"blue": 80, "green": 20}),
    ], scenario.table()


def test_the_foundation_design_would_drop_traffic_on_a_tag_change(scenario: Scenario) -> None:
    """The control: with `ignore_changes` on traffic (issue 2's seam), the engine
    sends the endpoint's old, empty, split with a tag change; the stand-in takes
    it, and the timeline check catches the outage."""
    scenario.up("create", _config({"blue": 90, "green": 10}))
    config = _config({"blue": 90, "green": 10}, tags={"team": "fraud"})
    recording = scenario.render(config)
    endpoint = recording.one("azure-native:machinelearningservices:OnlineEndpoint")
    endpoint.ignore_changes = ["properties.traffic", "properties.mirrorTraffic"]
    scenario.runs.append(("tag", config))
    scenario.engine.up(recording, "tag")
    assert scenario.live() == {}
    with pytest.raises(AssertionError, match="left live traffic at 0%"):
        scenario.check_never_dropped()


def test_a_mirror_that_breaks_azure_rules_is_refused_before_anything_is_sent(
    scenario: Scenario,
) -> None:
    scenario.up("create", _config({"blue": 100, "green": 0}))
    scenario.up("settle", _config({"blue": 100, "green": 0}))  # the endpoint catches up
    sent = len(scenario.standin.state.requests)
    recording = scenario.render(_config({"blue": 100, "green": 0}))
    split = next(
        r
        for r in recording.resources
        if r.type == "pulumi-python:dynamic/amlkit:OnlineEndpointTraffic"
    )
    split.inputs["mirrorTraffic"] = {"blue": 10}  # past the spec: the provider's check holds
    with pytest.raises(StepFailed, match="has live traffic"):
        scenario.engine.up(recording, "bad mirror")
    requests = scenario.standin.state.requests[sent:]
    assert [r for r in requests if not r.startswith("GET")] == [], requests
    assert scenario.live() == {"blue": 100}


def _fmt(split: dict[str, int] | None) -> str:
    if split is None:
        return "(no endpoint)"
    return " ".join(f"{k}={v}" for k, v in sorted(split.items())) or "-"
