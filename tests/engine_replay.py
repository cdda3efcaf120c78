"""The test double of the Pulumi engine (and of azure-native's provider) for
scenarios against the Azure stand-in. There is no Pulumi CLI here; this replays,
for one program run rendered under the mock runtime, the steps `pulumi up` or
`pulumi destroy` would take, in the engine's order:

1. the program runs first (the render); invokes it makes, such as
   `getOnlineEndpoint` and `getBatchEndpoint`, are answered from the stand-in,
   as azure-native answers them from ARM;
2. creates and updates, in dependency order (`dependsOn` of each registration,
   which holds explicit and input dependencies; one valid serial schedule of
   what the engine runs in parallel), skipping resources whose inputs did not
   change;
3. deletes of what the program no longer registers, after every create and
   update, in reverse dependency order of the previous run's state.

`ignore_changes` paths keep the old input value, as the engine does.
An azure-native resource is created or updated with a PUT of the body
`amlkit plan --check-azure` builds from its inputs (amlkit/azure_body.py) to the
id built from its inputs, waiting on the operation (what azure-native does),
deleted with a DELETE. A dynamic resource is driven through its own provider,
unpickled from its `__provider` input as the engine's dynamic-provider process
does: `check`, then `create`, or `diff` then `update` when it reports changes,
and `delete`. Only the stand-in's base URL and credential are set on it.

Only the types the stand-in serves are replayed (online and batch endpoints,
their deployments, the traffic and default-deployment resources); the rest of a program (role assignments,
autoscale, assets) has no counterpart there and is left out.
"""

from __future__ import annotations

import base64
import copy
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import dill  # type: ignore[import-untyped]
import pulumi
from azure.core.credentials import TokenCredential

from amlkit.components.dynamic.arm_client import ArmClient
from amlkit.components.dynamic.endpoint_setting import EndpointSettingProvider
from amlkit.plan.azure_body import request_body
from amlkit.plan.azure_models import model_for
from amlkit.plan.mock_engine import AzureMocks, Recording, Registration
from amlkit.plan.mock_ids import resource_id
from tests.azure_standin import Standin

ML = "azure-native:machinelearningservices"
ENDPOINT = f"{ML}:OnlineEndpoint"
DEPLOYMENT = f"{ML}:OnlineDeployment"
BATCH_ENDPOINT = f"{ML}:BatchEndpoint"
BATCH_DEPLOYMENT = f"{ML}:BatchDeployment"
DYNAMIC = "pulumi-python:dynamic/amlkit:"
"""amlkit's dynamic resources: `OnlineEndpointTraffic` and `BatchEndpointDefault`."""
REPLAYED = (ENDPOINT, DEPLOYMENT, BATCH_ENDPOINT, BATCH_DEPLOYMENT)
# The invokes that read an endpoint, and the endpoint type each reads.
READS = {f"{ML}:getOnlineEndpoint": ENDPOINT, f"{ML}:getBatchEndpoint": BATCH_ENDPOINT}
PROVIDER = "__provider"


class StepFailed(Exception):
    """A step failed: the engine stops the run there, as `pulumi up` does."""


@dataclass
class Entry:
    """One resource in the stack's state."""

    urn: str
    type: str
    name: str
    id: str
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    depends_on: list[str]


T = TypeVar("T", Registration, Entry)


@dataclass
class EngineReplay:
    standin: Standin
    credential: Callable[[], TokenCredential]
    state: dict[str, Entry] = field(default_factory=dict)
    steps: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.arm = ArmClient(self.credential(), self.standin.base_url)

    def mocks(self) -> AzureMocks:
        """The mock providers for this run's render: invokes read the stand-in."""
        return _StandinMocks(self.arm)

    def up(self, recording: Recording, run: str) -> None:
        wanted = [
            r
            for r in _ordered(recording.resources)
            if r.type in REPLAYED or r.type.startswith(DYNAMIC)
        ]
        for registration in wanted:
            self._create_or_update(registration, run)
        keep = {r.urn for r in wanted}
        for entry in reversed(_ordered(list(self.state.values()))):
            if entry.urn not in keep:
                self._delete(entry, run)

    def destroy(self, run: str) -> None:
        for entry in reversed(_ordered(list(self.state.values()))):
            self._delete(entry, run)

    # ----- steps -----------------------------------------------------------
    def _create_or_update(self, r: Registration, run: str) -> None:
        old = self.state.get(r.urn)
        inputs = _with_ignored(r.inputs, old.inputs if old else None, r.ignore_changes)
        if r.type.startswith(DYNAMIC):
            self._dynamic(r, inputs, old, run)
            return
        if old is not None and old.inputs == inputs:
            return
        rid = resource_id(r.type, r.name, inputs)
        self._step(run, "update" if old else "create", r.name)
        try:
            outputs = self.arm.put(rid, arm_body(r.type, inputs))
        except Exception as error:
            raise StepFailed(f"{run}: {r.name}: {error}") from error
        self.state[r.urn] = Entry(r.urn, r.type, r.name, rid, inputs, outputs, r.depends_on)

    def _dynamic(
        self, r: Registration, inputs: dict[str, Any], old: Entry | None, run: str
    ) -> None:
        inputs[PROVIDER] = r.dynamic_provider
        provider = self._provider(inputs)
        checked = provider.check(old.outputs if old else {}, inputs)
        if checked.failures:
            reasons = "; ".join(f.reason for f in checked.failures)
            raise StepFailed(f"{run}: {r.name}: check failed: {reasons}")
        news = dict(checked.inputs or {})
        try:
            if old is None:
                self._step(run, "create", r.name)
                created = provider.create(news)
                entry = Entry(r.urn, r.type, r.name, created.id, inputs, created.outs or {}, [])
            else:
                diff = provider.diff(old.id, old.outputs, news)
                if not diff.changes:
                    return
                if diff.replaces:
                    raise StepFailed(f"{run}: {r.name}: replacement is not replayed")
                self._step(run, "update", r.name)
                updated = provider.update(old.id, old.outputs, news)
                entry = Entry(r.urn, r.type, r.name, old.id, inputs, updated.outs or {}, [])
        except StepFailed:
            raise
        except Exception as error:
            raise StepFailed(f"{run}: {r.name}: {error}") from error
        entry.depends_on = r.depends_on
        self.state[r.urn] = entry

    def _delete(self, entry: Entry, run: str) -> None:
        self._step(run, "delete", entry.name)
        try:
            if entry.type.startswith(DYNAMIC):
                self._provider(entry.inputs).delete(entry.id, entry.outputs)
            else:
                self.arm.delete(entry.id)
        except Exception as error:
            raise StepFailed(f"{run}: delete {entry.name}: {error}") from error
        del self.state[entry.urn]

    def _provider(self, inputs: dict[str, Any]) -> EndpointSettingProvider:
        pickled = inputs.get(PROVIDER)
        assert isinstance(pickled, str), "the dynamic resource's provider was not recorded"
        provider = dill.loads(base64.b64decode(pickled))
        assert isinstance(provider, EndpointSettingProvider)
        provider.arm_endpoint = self.standin.base_url
        provider.credential = self.credential
        return provider

    def _step(self, run: str, op: str, name: str) -> None:
        label = f"{run}: {op} {name}"
        self.steps.append(label)
        self.standin.state.label = label


def arm_body(type_token: str, inputs: dict[str, Any]) -> dict[str, Any]:
    """The body azure-native PUTs, as `amlkit plan --check-azure` builds it; nulls dropped."""
    model = model_for(type_token)
    assert model is not None, f"no Azure model for {type_token}"
    cleaned: dict[str, Any] = _without_nulls(request_body(type_token, inputs, model))
    return cleaned


def _without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


def _with_ignored(
    new: dict[str, Any], old: dict[str, Any] | None, paths: Iterable[str]
) -> dict[str, Any]:
    """The engine's `ignore_changes`: each path keeps its old input value."""
    merged = copy.deepcopy(new)
    if old is None:
        return merged
    for path in paths:
        *parents, leaf = path.split(".")
        source: Any = old
        target: Any = merged
        for part in parents:
            source = source.get(part, {}) if isinstance(source, dict) else {}
            target = target.setdefault(part, {})
        if isinstance(source, dict) and leaf in source:
            target[leaf] = copy.deepcopy(source[leaf])
        else:
            target.pop(leaf, None)
    return merged


def _ordered(items: list[T]) -> list[T]:
    """Dependencies first; otherwise in registration order."""
    by_urn = {i.urn: i for i in items}
    done: set[str] = set()
    ordered: list[T] = []

    def visit(item: T, path: tuple[str, ...]) -> None:
        if item.urn in done:
            return
        if item.urn in path:
            raise ValueError(f"dependency cycle through {item.urn}")
        for dep in item.depends_on:
            if dep in by_urn:
                visit(by_urn[dep], (*path, item.urn))
        done.add(item.urn)
        ordered.append(item)

    for item in items:
        visit(item, ())
    return ordered


class _StandinMocks(AzureMocks):
    """azure-native's invokes, answered from the stand-in as ARM would answer them."""

    def __init__(self, arm: ArmClient) -> None:
        self.arm = arm

    def call(
        self, args: pulumi.runtime.MockCallArgs
    ) -> tuple[dict[Any, Any], list[tuple[str, str]] | None]:
        if args.token in READS:
            rid = resource_id(READS[args.token], str(args.args["endpointName"]), dict(args.args))
            found = self.arm.get(rid)
            if found is None:
                return {}, [
                    ("endpointName", "RESPONSE 404: 404 Not Found ERROR CODE: ResourceNotFound")
                ]
            return found, []
        return super().call(args)
