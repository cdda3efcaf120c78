"""The whole of one stack: what `stacks/Pulumi.<stack>.yaml` holds under `amlkit:`.

Environments differ in these values only, never in code. Rules that span
sections (names unique per region, references that must resolve) live here.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import (
    AwareDatetime,
    Field,
    StrictInt,
    StringConstraints,
    field_validator,
    model_validator,
)

from .asset_uses import AssetUse, check_registrations
from .base import Spec
from .batch_endpoint import BatchEndpointSpec
from .compute import ComputeClusterSpec
from .identity import IdentitySpec, ResourceIdentity
from .kubernetes import KubernetesSpec, check_within_instance_type
from .monitoring import MonitoringSpec
from .online_endpoint import OnlineEndpointSpec
from .pipeline_batch_deployment import PipelineBatchDeploymentSpec
from .policy import PolicySpec
from .scoring_image import ScoringImageSpec
from .types import Flag, Location, Tags
from .workspace import WorkspaceSpec

EnvName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9]{1,11}$")]


class Ephemeral(Spec):
    """A short-lived test environment, torn down after its time-to-live."""

    ttl_hours: Annotated[StrictInt, Field(ge=1, le=24 * 30)] = 72
    """How long the environment lives after creation; at most 30 days."""
    expires_at: AwareDatetime | None = None
    """When it is due for teardown, absolute and in UTC (`2026-12-04T10:00:00Z`);
    `amlkit env create` sets it to creation time + `ttl_hours`. An offset is converted
    to UTC; a time without one is refused (it would mean a different instant on every
    runner). Default: none (such an environment never expires by itself)."""

    source: str | None = None
    """The stack it was copied from (`amlkit env create --from`)."""
    pull_request: Annotated[StrictInt, Field(ge=1, le=2**31 - 1)] | None = None
    """The pull request it serves (`amlkit env create --pr`)."""

    @field_validator("expires_at")
    @classmethod
    def _in_utc(cls, value: datetime | None) -> datetime | None:
        return value.astimezone(UTC) if value is not None else None

    def expired(self, now: datetime) -> bool:
        """Whether `now` (aware) is at or past `expires_at`; never without one."""
        return self.expires_at is not None and now >= self.expires_at


class StackEnvironment(Spec):
    name: EnvName
    """Short environment name (`dev`, `prod`, `pr123`): goes into every Azure name."""
    location: Location
    """Azure region, e.g. `westeurope`."""
    resource_group: (
        Annotated[str, StringConstraints(pattern=r"^[-\w._()]{1,89}[-\w_()]$")] | None
    ) = None
    """Default: `rg-amlkit-<name>`."""
    tags: Tags = {}
    """Put on every resource, with `environment` and `managed-by` added."""
    protect: Flag = False
    """Protect stateful resources (workspace, storage, key vault, registry, logs) from deletion."""
    ephemeral: Ephemeral | None = None
    salt: Annotated[str, StringConstraints(pattern=r"^[a-z0-9]{4,8}$")] | None = None
    """Set once when the environment is created (`amlkit env create` sets it): goes into
    the globally unique names and into the names Azure keeps after deletion (key vault,
    workspace, Log Analytics), so an environment created again gets new ones. Default:
    none, for long-lived environments created once. Changing it replaces those resources."""

    @model_validator(mode="after")
    def _ephemeral_rules(self) -> StackEnvironment:
        if self.ephemeral is not None and self.protect:
            raise ValueError(
                "protect and ephemeral contradict each other: a test environment must be "
                "destroyable"
            )
        if self.ephemeral is not None and self.salt is None:
            raise ValueError(
                "an ephemeral environment needs `salt` (4-8 lower-case letters or digits, new "
                "for each creation): Azure keeps a deleted key vault's name up to 90 days and a "
                "workspace's 14, so the same names would collide when it is created again"
            )
        return self


class StackSpec(Spec):
    environment: StackEnvironment
    workspace: WorkspaceSpec = WorkspaceSpec()
    identities: tuple[IdentitySpec, ...] = ()
    compute: tuple[ComputeClusterSpec, ...] = ()
    kubernetes: KubernetesSpec | None = None
    """An AKS cluster attached as a Kubernetes compute, for Kubernetes online endpoints."""
    online_endpoints: tuple[OnlineEndpointSpec, ...] = ()
    batch_endpoints: tuple[BatchEndpointSpec, ...] = ()
    monitoring: MonitoringSpec = MonitoringSpec()
    scoring_image: ScoringImageSpec = ScoringImageSpec()
    policy: PolicySpec = PolicySpec()
    """The policy pack config `amlkit plan` checks the stack with (see policy/)."""

    @model_validator(mode="before")
    @classmethod
    def _image_defaults_in_context(cls, data: Any) -> Any:
        # Validate the image's default build context against the stack file's folder.
        if isinstance(data, dict) and "scoring_image" not in data:
            return {**data, "scoring_image": {}}
        return data

    @model_validator(mode="after")
    def _cross_rules(self) -> StackSpec:
        _unique("identities", [i.name for i in self.identities])
        _unique(
            "compute",  # clusters and the Kubernetes compute share the workspace's names
            [c.name for c in self.compute]
            + ([self.kubernetes.compute.name] if self.kubernetes else []),
        )
        # Endpoint names are unique per Azure region, across online and batch.
        _unique(
            "endpoints (online and batch share one namespace per region)",
            [e.name.lower() for e in self.online_endpoints]
            + [e.name.lower() for e in self.batch_endpoints],
        )
        identities = {i.name for i in self.identities}
        for owner, identity in self._identity_uses():
            for ref in identity.user_assigned_identities if identity else ():
                if ref.name is not None and ref.name not in identities:
                    raise ValueError(
                        f"{owner}: identity {ref.name!r} is not in `identities` "
                        f"(defined: {sorted(identities) or 'none'})"
                    )
        clusters = {c.name for c in self.compute}
        for endpoint in self.batch_endpoints:
            for deployment in endpoint.deployments:
                if isinstance(deployment, PipelineBatchDeploymentSpec):
                    field, value = "settings.default_compute", deployment.settings.default_compute
                    name = deployment.settings.compute_name
                else:
                    field, value = "compute", deployment.compute
                    name = None if value.startswith("/subscriptions/") else deployment.compute_name
                if name is not None and name not in clusters:
                    raise ValueError(
                        f"batch endpoint {endpoint.name!r} deployment {deployment.name!r}: "
                        f"{field} {value!r} is not a cluster of this stack "
                        f"(clusters: {sorted(clusters) or 'none'}); add it under `compute`"
                    )
        self._kubernetes_rules()
        check_registrations(self.asset_uses())
        return self

    def _kubernetes_rules(self) -> None:
        """Kubernetes endpoints name the stack's Kubernetes compute (or an ARM id), and their
        deployments' instance types exist and bound their resources."""
        for endpoint in self.online_endpoints:
            if endpoint.compute is None or endpoint.compute.startswith("/subscriptions/"):
                continue  # managed, or a compute outside this stack
            ours = self.kubernetes.compute.name if self.kubernetes else None
            if endpoint.compute_name != ours:
                clusters = {c.name for c in self.compute}
                why = (
                    "an AmlCompute cluster, which serves batch only"
                    if endpoint.compute_name in clusters
                    else "not this stack's Kubernetes compute"
                )
                raise ValueError(
                    f"online endpoint {endpoint.name!r}: compute {endpoint.compute!r} is {why}; "
                    + (
                        f"name azureml:{ours}"
                        if ours
                        else "add `amlkit:kubernetes` or give the compute's ARM id"
                    )
                )
            assert self.kubernetes is not None
            for deployment in endpoint.deployments:
                kind = self.kubernetes.instance_type(deployment.instance_type)
                where = f"online endpoint {endpoint.name!r} deployment {deployment.name!r}"
                if kind is None:
                    known = [t.name for t in self.kubernetes.instance_types]
                    raise ValueError(
                        f"{where}: instance_type {deployment.instance_type!r} is not in "
                        f"kubernetes.instance_types ({', '.join(known) or 'none'})"
                    )
                try:
                    check_within_instance_type(deployment.resources, kind)
                except ValueError as error:
                    raise ValueError(f"{where}: {error}") from None

    def online_capacity(self) -> dict[tuple[str, str], int]:
        """Instances each online deployment always runs (`guaranteed_instances`). Alerts on
        capacity compare against it."""
        return {
            (e.name, d.name): d.guaranteed_instances
            for e in self.online_endpoints
            for d in e.deployments
        }

    def asset_uses(self) -> dict[str, AssetUse]:
        """Every deployment's models, code and environments, online and batch, by `use_key`."""
        uses: dict[str, AssetUse] = {}
        for online in self.online_endpoints:
            uses.update(online.asset_uses())
        for batch in self.batch_endpoints:
            uses.update(batch.asset_uses())
        return uses

    def _identity_uses(self) -> list[tuple[str, ResourceIdentity | None]]:
        uses: list[tuple[str, ResourceIdentity | None]] = [("workspace", self.workspace.identity)]
        uses += [(f"online endpoint {e.name!r}", e.identity) for e in self.online_endpoints]
        uses += [(f"compute {c.name!r}", c.identity) for c in self.compute]
        if self.kubernetes is not None:
            uses.append(("kubernetes.compute", self.kubernetes.compute.identity))
            if self.kubernetes.managed_cluster is not None:
                uses.append(
                    ("kubernetes.managed_cluster", self.kubernetes.managed_cluster.identity)
                )
        return uses


def _unique(what: str, names: list[str]) -> None:
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"{what}: {duplicates} appear more than once")
