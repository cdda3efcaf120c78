"""Run a Pulumi program with Pulumi's mock engine and record every registration.

Used by `amlkit plan` and by the tests: no CLI, no cloud, no credentials.
The recording keeps what the engine itself would receive (type, name, parent,
dependencies, protect, inputs in camelCase with secrets marked) plus what the
mock "provider" answered.
"""

from __future__ import annotations

import asyncio
import json
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
from google.protobuf import json_format
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import settings as pulumi_settings
from pulumi.runtime.sync_await import _sync_await

from .mock_ids import (
    SUBSCRIPTION_ID,
    TENANT_ID,
    computed_outputs,
    mock_kubeconfig,
    resource_id,
    stable_guid,
)

SECRET_SIG = "4dabf18193072939515e22adb298388d"
SECRET_TEXT = "[secret]"


@dataclass
class Registration:
    """One resource as the engine saw it."""

    urn: str
    type: str
    name: str
    custom: bool
    parent: str | None
    protect: bool
    depends_on: list[str]
    inputs: dict[str, Any]
    ignore_changes: list[str]
    id: str | None = None
    outputs: dict[str, Any] = field(default_factory=dict)
    dynamic_provider: str | None = None
    """A dynamic resource's pickled provider (base64), which the engine keeps secret."""


@dataclass
class Recording:
    resources: list[Registration] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)

    def of_type(self, typ: str) -> list[Registration]:
        return [r for r in self.resources if r.type == typ]

    def one(self, typ: str, name: str | None = None) -> Registration:
        found = [r for r in self.of_type(typ) if name is None or r.name == name]
        if len(found) != 1:
            names = [r.name for r in self.of_type(typ)]
            raise LookupError(f"expected one {typ} named {name!r}; have {names}")
        return found[0]

    def by_urn(self, urn: str) -> Registration:
        return next(r for r in self.resources if r.urn == urn)


class AzureMocks(pulumi.runtime.Mocks):
    """Answers as Azure would: realistic ids and the outputs Azure computes."""

    def new_resource(
        self, args: pulumi.runtime.MockResourceArgs
    ) -> tuple[str | None, dict[str, Any]]:
        if not args.custom:
            return None, {}
        inputs = dict(args.inputs)
        rid = resource_id(args.typ, args.name, inputs)
        return rid, computed_outputs(args.typ, args.name, inputs, rid)

    def call(
        self, args: pulumi.runtime.MockCallArgs
    ) -> tuple[dict[Any, Any], list[tuple[str, str]] | None]:
        if args.token in (
            "azure-native:machinelearningservices:getOnlineEndpoint",
            "azure-native:machinelearningservices:getBatchEndpoint",
        ):
            # Offline, nothing exists yet: azure-native relays ARM's 404.
            return {}, [
                ("endpointName", "RESPONSE 404: 404 Not Found ERROR CODE: ResourceNotFound")
            ]
        return self._answer(args), []

    def _answer(self, args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
        token = args.token
        if token == "azure-native:authorization:getClientConfig":
            return {
                "subscriptionId": SUBSCRIPTION_ID,
                "tenantId": TENANT_ID,
                "clientId": stable_guid("deployer-client"),
                "objectId": stable_guid("deployer-object"),
            }
        if token.startswith("azure-native:machinelearningservices:get") and token.endswith(
            "Container"
        ):
            # A registered asset's container: `azureml:name@latest` resolves to its latest version.
            name = str(args.args.get("name", "asset"))
            return {
                "id": f"/mock/{name}",
                "name": name,
                "properties": {
                    "latestVersion": "1",
                    "nextVersion": "2",
                    "isArchived": False,
                    "provisioningState": "Succeeded",
                },
            }
        if token in (
            "azure-native:containerservice:listManagedClusterAdminCredentials",
            "azure-native:containerservice:listManagedClusterUserCredentials",
        ):
            cluster = str(args.args.get("resourceName", "aks"))
            return {"kubeconfigs": [{"name": "clusterAdmin", "value": mock_kubeconfig(cluster)}]}
        if token.endswith(":getRoleDefinition"):
            return {"id": args.args.get("roleDefinitionId", "")}
        return dict(args.args)


class DuplicateUrnError(Exception):
    """Two resources with one URN: the real engine fails the deployment too."""


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """The mock monitor, keeping what each RegisterResource request carried."""

    def __init__(self, mocks: pulumi.runtime.Mocks) -> None:
        super().__init__(mocks)
        self.recording = Recording()

    def RegisterResource(self, request: Any) -> Any:
        if request.type != "pulumi:pulumi:Stack":
            urn = self.make_urn(request.parent, request.type, request.name)
            if urn in self.resources:
                # The engine refuses a second resource with the same URN; so do we.
                raise DuplicateUrnError(f"Duplicate resource URN '{engine_urn(urn)}'")
        response = super().RegisterResource(request)  # type: ignore[no-untyped-call]
        if request.type == "pulumi:pulumi:Stack":
            return response
        state = self.resources.get(response.urn)
        raw = json_format.MessageToDict(request.object)
        provider = raw.get("__provider")
        if isinstance(provider, dict):  # a secret envelope around the base64 pickle
            provider = provider.get("value")
        parent = request.parent or None
        if parent is not None and parent.endswith(f"::{_STACK}::{parent.rsplit('::', 1)[-1]}"):
            parent = None  # a top-level resource: the engine shows no parent
        self.recording.resources.append(
            Registration(
                urn=engine_urn(response.urn),
                type=request.type,
                name=request.name,
                custom=bool(request.custom),
                parent=engine_urn(parent) if parent else None,
                protect=bool(request.protect),
                depends_on=sorted({engine_urn(u) for u in request.dependencies}),
                inputs=plain(raw),
                ignore_changes=list(request.ignoreChanges),
                id=response.id or None,
                outputs=dict(state.state) if state is not None and state.state else {},
                dynamic_provider=provider if isinstance(provider, str) else None,
            )
        )
        return response

    def RegisterResourceOutputs(self, request: Any) -> Any:
        if request.urn.split("::")[2] == _STACK:  # the stack's own outputs: its exports
            self.recording.outputs = plain(json_format.MessageToDict(request.outputs))
        return super().RegisterResourceOutputs(request)  # type: ignore[no-untyped-call]


_STACK = "pulumi:pulumi:Stack"


def engine_urn(urn: str) -> str:
    """The mock monitor prefixes top-level types with the stack's; the engine does not."""
    return urn.replace(f"::{_STACK}$", "::")


def plain(value: Any) -> Any:
    """Secrets become "[secret]"; integral floats (protobuf has no ints) become ints;
    null properties (an Output that resolved to None) are dropped, as providers drop them."""
    if isinstance(value, dict):
        if value.get(SECRET_SIG) == "1b47061264138c4ac30d75fd1eb44270":
            return SECRET_TEXT
        return {k: plain(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def run_program(
    program: Callable[[], object],
    *,
    project: str,
    stack: str,
    config: Mapping[str, Any] | None = None,
    secret_keys: list[str] | None = None,
    mocks: pulumi.runtime.Mocks | None = None,
) -> Recording:
    """Run `program` under the mock engine (`preview=False`) and wait for every resource.

    `config` holds `namespace:key` values as a stack file does; objects are passed
    to the program as JSON, as the Pulumi engine passes them. `mocks` answers for
    the providers (default: `AzureMocks`, where nothing exists yet).
    """
    pulumi_settings.reset_options()
    pulumi.runtime.set_all_config(
        {k: v if isinstance(v, str) else json.dumps(v) for k, v in (config or {}).items()},
        secret_keys or [],
    )
    mocks = mocks or AzureMocks()
    monitor = RecordingMonitor(mocks)
    _ensure_event_loop()
    pulumi.runtime.set_mocks(mocks, project=project, stack=stack, preview=False, monitor=monitor)
    _sync_await(_run(program))
    return monitor.recording


def _ensure_event_loop() -> None:
    """Give this thread an event loop if it has none: Pulumi's runtime asks for one with
    `asyncio.get_event_loop()`, which raises after an `asyncio.run()` in the same thread
    (it leaves no current loop behind)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            asyncio.get_event_loop()
        except RuntimeError:
            asyncio.set_event_loop(asyncio.new_event_loop())


async def _run(program: Callable[[], object]) -> None:
    from pulumi.runtime.stack import run_pulumi_func

    def with_exports() -> None:
        # The mock root stack finished before the program ran; register its
        # exports now, as the real engine does when the program returns.
        program()
        root = pulumi_settings.get_root_resource()
        if root is not None:
            root._outputs_registered = False  # type: ignore[attr-defined]
            root._finish()  # type: ignore[attr-defined]

    await run_pulumi_func(with_exports)
