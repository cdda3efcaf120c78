"""The one dynamic provider amlkit has: a setting of an endpoint that names its
deployments, written over ARM once every deployment it names exists.

azure-native cannot order such a write for us. An online endpoint's `traffic`
and a batch endpoint's `defaults.deploymentName` may only name deployments that
exist, and deployments are children of the endpoint, so the setting cannot
travel with the endpoint's creation. A dynamic resource that depends on every
deployment of the endpoint owns it instead, and the engine then
- creates it after the endpoint and all its deployments, in the same `pulumi up`;
- updates it in place when the setting changes, after a deployment added in the
  same run exists, and before a deployment removed from the config is deleted
  (deletes run after every create and update);
- deletes it before any deployment on `destroy`.

Each write is what `az ml ... update` does: GET the endpoint, set the setting in
the body Azure returned (everything else as Azure holds it), PUT it back and wait
on ARM's long-running operation, then GET again and fail unless Azure holds what
was asked. The endpoints' ARM PATCH takes only tags and identity, so a write is a
PUT of the whole endpoint. `check` refuses a setting that breaks Azure's rules
before anything is sent; `read` (`pulumi refresh`) takes what Azure holds into
the state, so a change made outside Pulumi shows as a diff the next `up` undoes.

What is written, and how it is checked, is an `EndpointSetting`: `OnlineTraffic`
(`online_traffic.py`) and `BatchDefault` (`batch_default.py`). Each registers
under its own resource type, so a plan or a policy tells them apart.

Pulumi pickles the provider object (with dill) into the stack's state and
unpickles it in its dynamic-provider process: it holds plain values and a
stateless setting, never a live client; clients and credentials are made per
call. Classes are found by reference, so `amlkit` must be importable there
(it is: the project's virtualenv installs it).
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from azure.core.credentials import TokenCredential
from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    CreateResult,
    DiffResult,
    ReadResult,
    ResourceProvider,
    UpdateResult,
)

from .arm_client import PUBLIC_CLOUD, ArmClient, ArmError

ARM_ENDPOINT_VARIABLE = "AMLKIT_ARM_ENDPOINT"
"""Set it for a sovereign cloud (e.g. https://management.chinacloudapi.cn); default: public Azure."""

TARGET = ("workspaceId", "endpointName")
"""Inputs that name the endpoint: another endpoint is another resource (a replace)."""

# What ARM computes: never sent back in a PUT.
_READ_ONLY_TOP = ("id", "name", "type", "systemData")
_READ_ONLY_PROPERTIES = ("provisioningState", "scoringUri", "swaggerUri")


class EndpointSetting(ABC):
    """What one kind of endpoint setting writes, and the rules it is checked by.

    Stateless: the provider pickles it by reference into the stack's state."""

    collection: ClassVar[str]
    """ARM's child collection under the workspace: `onlineEndpoints`, `batchEndpoints`."""
    noun: ClassVar[str]
    """How messages name the endpoint: `online endpoint`, `batch endpoint`."""
    what: ClassVar[str]
    """How messages name the setting: `traffic`, `default deployment`."""
    resets_on_delete: ClassVar[bool] = False
    """Whether deleting the resource writes `on_delete` to Azure; else Azure is left alone."""

    @abstractmethod
    def check(self, news: Mapping[str, Any]) -> tuple[dict[str, Any], list[CheckFailure]]:
        """The inputs as the provider works with them, and what breaks Azure's rules."""

    @abstractmethod
    def changed(self, olds: Mapping[str, Any], news: Mapping[str, Any]) -> bool:
        """Whether Azure would hold something else (an in-place update)."""

    @abstractmethod
    def properties(self, endpoint: Mapping[str, Any], props: Mapping[str, Any]) -> dict[str, Any]:
        """The endpoint properties to PUT for `props`, given the endpoint as Azure holds it."""

    @abstractmethod
    def live(self, endpoint: Mapping[str, Any]) -> dict[str, Any]:
        """What Azure holds, as outputs (`live...` keys)."""

    @abstractmethod
    def mismatch(self, props: Mapping[str, Any], live: Mapping[str, Any]) -> str | None:
        """Why Azure does not hold what `props` asked for; None when it does."""

    @abstractmethod
    def refreshed(self, props: Mapping[str, Any], live: Mapping[str, Any]) -> dict[str, Any]:
        """The state after `pulumi refresh`: the setting as Azure holds it."""

    def on_delete(self, endpoint: Mapping[str, Any]) -> dict[str, Any]:
        """The properties to PUT when the resource is deleted (with `resets_on_delete`)."""
        raise NotImplementedError(f"{type(self).__name__} leaves Azure alone on delete")


class EndpointSettingProvider(ResourceProvider):
    """Writes one `EndpointSetting` of one endpoint, with an ARM client made per call."""

    def __init__(
        self,
        setting: EndpointSetting,
        arm_endpoint: str | None = None,
        credential: Callable[[], TokenCredential] | None = None,
    ) -> None:
        self.setting = setting
        self.arm_endpoint = arm_endpoint
        """Default: $AMLKIT_ARM_ENDPOINT, else https://management.azure.com."""
        self.credential = credential
        """A factory, called per operation; default: DefaultAzureCredential."""

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        missing = [CheckFailure(key, f"{key} is required") for key in TARGET if not news.get(key)]
        inputs, failures = self.setting.check(news)
        return CheckResult(inputs, missing + failures)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        replaces = [key for key in TARGET if olds.get(key) != news.get(key)]
        changed = self.setting.changed(olds, news)
        return DiffResult(
            changes=bool(replaces or changed), replaces=replaces, delete_before_replace=False
        )

    def create(self, props: dict[str, Any]) -> CreateResult:
        return CreateResult(self.endpoint_id(props), self._apply(props))

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(self._apply(news))

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        if not self.setting.resets_on_delete:
            return
        client, resource_id = self._client(), self.endpoint_id(props)
        endpoint = client.get(resource_id)
        if endpoint is None:
            return  # the endpoint is gone, and its setting with it
        client.put(resource_id, writable_body(endpoint, self.setting.on_delete(endpoint)))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        endpoint = self._client().get(self.endpoint_id(props))
        if endpoint is None:
            return ReadResult(None, {})
        return ReadResult(id_, self.setting.refreshed(props, self.setting.live(endpoint)))

    def endpoint_id(self, props: Mapping[str, Any]) -> str:
        return f"{props['workspaceId']}/{self.setting.collection}/{props['endpointName']}"

    def _apply(self, props: dict[str, Any]) -> dict[str, Any]:
        client, resource_id = self._client(), self.endpoint_id(props)
        endpoint = client.get(resource_id)
        if endpoint is None:
            raise ArmError(
                f"{self.setting.noun} {resource_id} does not exist; its {self.setting.what} "
                "cannot be set"
            )
        client.put(resource_id, writable_body(endpoint, self.setting.properties(endpoint, props)))
        live = self.setting.live(client.get(resource_id) or {})
        problem = self.setting.mismatch(props, live)
        if problem is not None:
            raise ArmError(f"{self.setting.noun} {props['endpointName']}: {problem}")
        return {**props, **live, "applied": True}

    def _client(self) -> ArmClient:
        base_url = self.arm_endpoint or os.environ.get(ARM_ENDPOINT_VARIABLE) or PUBLIC_CLOUD
        return ArmClient((self.credential or default_credential)(), base_url)


def default_credential() -> TokenCredential:
    """azure-identity's chain: environment, workload identity, managed identity, Azure CLI..."""
    from azure.identity import DefaultAzureCredential

    return DefaultAzureCredential()


def writable_body(resource: Mapping[str, Any], properties: Mapping[str, Any]) -> dict[str, Any]:
    """The resource as Azure returned it, writable fields only, with `properties` set."""
    body = {k: v for k, v in resource.items() if k not in _READ_ONLY_TOP}
    kept = {
        k: v
        for k, v in (resource.get("properties") or {}).items()
        if k not in _READ_ONLY_PROPERTIES
    }
    body["properties"] = {**kept, **properties}
    identity = resource.get("identity")
    if isinstance(identity, dict):
        # principalId and tenantId are Azure's; a user-assigned identity is named, not described.
        writable: dict[str, Any] = {"type": identity.get("type")}
        if identity.get("userAssignedIdentities"):
            writable["userAssignedIdentities"] = {i: {} for i in identity["userAssignedIdentities"]}
        body["identity"] = writable
    return body
