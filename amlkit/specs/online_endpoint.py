"""An online endpoint (CLI v2 `managedOnlineEndpoint` / `kubernetesOnlineEndpoint`)
with its deployments, traffic split and mirror traffic.

The rules Azure enforces mid-deploy are checked here, once, before anything is
sent: traffic names deployments of this endpoint and sums to 0 or 100; mirror
traffic goes to one deployment at most, at most 50%, never to one with live
traffic, never on Kubernetes (Azure ML "safe rollout" doc).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from .asset_uses import AssetUse, asset_use
from .base import LowerCase, Spec, schema_stem
from .identity import ResourceIdentity
from .online_deployment import OnlineDeploymentSpec, schema_type
from .rollout import RolloutSpec
from .types import EndpointName, Percent, Tags

MAX_MIRROR_PERCENT = 50
MAX_DEPLOYMENTS_PER_ENDPOINT = 20
MAX_KUBERNETES_NAMES = 62
"""Azure ML quotas doc: a Kubernetes endpoint's and deployment's names total 6-62 characters."""
COMPUTE_ID = re.compile(
    r"^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/"
    r"Microsoft\.MachineLearningServices/workspaces/[^/]+/computes/[^/]+$",
    re.IGNORECASE,
)
COMPUTE_REF = re.compile(r"^azureml:[a-zA-Z][-a-zA-Z0-9]{1,15}$")

# Read without regard to case (amlkit/specs/cli_yaml.py `SCHEMA_KINDS`).
_SCHEMA_KINDS = {"managedonlineendpoint": "managed", "kubernetesonlineendpoint": "kubernetes"}

AuthMode = Annotated[Literal["key", "aml_token", "aad_token"], LowerCase]


class OnlineEndpointSpec(Spec):
    """CLI v2 endpoint fields, plus amlkit's `deployments:` list."""

    schema_: str | None = Field(default=None, alias="$schema")
    name: EndpointName
    description: str | None = None
    tags: Tags = {}
    properties: dict[str, str] = {}
    auth_mode: AuthMode = "key"
    """`key` never expires; prefer `aml_token` or `aad_token` beyond dev."""
    identity: ResourceIdentity | None = None
    """Default: system-assigned, granted AcrPull and data roles by amlkit."""
    public_network_access: Annotated[Literal["enabled", "disabled"], LowerCase] = "enabled"
    compute: str | None = None
    """`azureml:<kubernetes-compute>` (the stack's `amlkit:kubernetes` compute) or a Kubernetes
    compute's ARM id makes this a Kubernetes endpoint."""
    traffic: dict[str, Percent] = {}
    """Deployment name -> percent of live traffic; sums to 0 or 100."""
    mirror_traffic: dict[str, Percent] = {}
    """Deployment name -> percent of traffic copied (responses discarded); at most 50."""
    deployments: Annotated[
        tuple[OnlineDeploymentSpec, ...], Field(max_length=MAX_DEPLOYMENTS_PER_ENDPOINT)
    ] = ()
    """amlkit: the endpoint's deployments, inline or loaded from CLI v2 files."""
    rollout: RolloutSpec | None = None
    """amlkit: how `amlkit rollout` moves live traffic to a new deployment (specs/rollout.py)."""

    @property
    def kind(self) -> Literal["managed", "kubernetes"]:
        return "kubernetes" if self.compute else "managed"

    @property
    def compute_name(self) -> str | None:
        """The compute's name: `azureml:<name>` or the last segment of its ARM id."""
        if self.compute is None:
            return None
        return self.compute.removeprefix("azureml:").rsplit("/", 1)[-1]

    def asset_uses(self) -> dict[str, AssetUse]:
        """The models, code and environments of its deployments, by `use_key`."""
        return dict(asset_use("online", self.name, d) for d in self.deployments)

    @model_validator(mode="before")
    @classmethod
    def _deployment_kind(cls, data: Any) -> Any:
        """Deployments without `type` take the endpoint's kind, as `az ml` does."""
        if not isinstance(data, dict) or not isinstance(data.get("deployments"), list | tuple):
            return data
        kind = "kubernetes" if data.get("compute") else "managed"
        deployments = [
            {**d, "type": schema_type(d) or kind}
            if isinstance(d, dict) and d.get("type") is None
            else d
            for d in data["deployments"]
        ]
        return {**data, "deployments": deployments}

    @model_validator(mode="after")
    def _rules(self) -> OnlineEndpointSpec:
        said = _SCHEMA_KINDS.get((schema_stem(self.schema_) or "").lower())
        if said is not None and said != self.kind:
            raise ValueError(
                f"$schema says a {said} endpoint but it is {self.kind} "
                f"({'`compute:` names a Kubernetes compute' if self.compute else 'no `compute:`'}); "
                "a Kubernetes endpoint names its compute, a managed one none"
            )
        names = [d.name for d in self.deployments]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"deployments: names {duplicates} appear more than once")
        if self.kind == "kubernetes":
            self._check_kubernetes()
        for deployment in self.deployments:
            self._check_deployment(deployment)
        check_traffic(self.traffic, self.mirror_traffic, names, self.kind)
        if self.rollout is not None:
            self._check_rollout(self.rollout, names)
        return self

    def _check_rollout(self, rollout: RolloutSpec, names: list[str]) -> None:
        """The rollout's deployments are this endpoint's; shadow needs a managed endpoint."""
        for role in ("candidate", "baseline"):
            name = getattr(rollout, role)
            if name is not None and name not in names:
                raise ValueError(
                    f"rollout.{role} {name!r} is not a deployment of this endpoint "
                    f"(deployments: {sorted(names) or 'none'})"
                )
        if rollout.shadow is not None and self.kind == "kubernetes":
            raise ValueError(
                "rollout.shadow: Kubernetes endpoints do not support mirroring; drop the "
                "shadow phase or use a managed endpoint"
            )
        if rollout.baseline is None and self.rollout_baseline() is None:
            raise ValueError(
                f"rollout: no deployment but {rollout.candidate!r} has live traffic; name "
                "`baseline` (the deployment the candidate is compared against)"
            )

    def rollout_baseline(self) -> str | None:
        """The rollout's baseline: as named, else the deployment with the most live traffic
        other than the candidate (None without a rollout or such a deployment)."""
        if self.rollout is None:
            return None
        if self.rollout.baseline is not None:
            return self.rollout.baseline
        others = [(v, k) for k, v in self.traffic.items() if k != self.rollout.candidate and v]
        return max(others)[1] if others else None

    def _check_kubernetes(self) -> None:
        """What Azure refuses of a Kubernetes endpoint (CLI v2 online endpoint reference)."""
        assert self.compute is not None
        if not (COMPUTE_REF.match(self.compute) or COMPUTE_ID.match(self.compute)):
            raise ValueError(
                f"compute {self.compute!r}: name a Kubernetes compute as azureml:<name> or by its "
                "ARM id (/subscriptions/.../workspaces/<ws>/computes/<name>)"
            )
        if self.auth_mode == "aad_token":
            raise ValueError(
                "auth_mode aad_token: Kubernetes endpoints take key or aml_token (Microsoft "
                "Entra tokens are for managed endpoints only)"
            )
        if self.public_network_access == "disabled":
            raise ValueError(
                "public_network_access: managed endpoints only; a Kubernetes endpoint's network "
                "is the cluster's (extension internal_load_balancer_provider: azure)"
            )
        for deployment in self.deployments:
            total = len(self.name) + len(deployment.name)
            if total > MAX_KUBERNETES_NAMES:
                raise ValueError(
                    f"deployment {deployment.name!r}: endpoint and deployment names total {total} "
                    f"characters; Kubernetes endpoints allow {MAX_KUBERNETES_NAMES}"
                )

    def _check_deployment(self, deployment: OnlineDeploymentSpec) -> None:
        if deployment.endpoint_name not in (None, self.name):
            raise ValueError(
                f"deployment {deployment.name!r} says endpoint_name "
                f"{deployment.endpoint_name!r} but sits under endpoint {self.name!r}"
            )
        if deployment.type != self.kind:
            raise ValueError(
                f"deployment {deployment.name!r} is {deployment.type} but endpoint "
                f"{self.name!r} is {self.kind} (set `compute:` for Kubernetes)"
            )
        limit = deployment.timeout_ceiling_ms(self.kind)
        if deployment.request_settings.request_timeout_ms > limit:
            raise ValueError(
                f"deployment {deployment.name!r}: request_settings.request_timeout_ms "
                f"({deployment.request_settings.request_timeout_ms}) is above Azure's "
                f"{limit} for {self.kind} deployments"
            )


def check_traffic(
    traffic: Mapping[str, float],
    mirror_traffic: Mapping[str, float],
    deployments: Iterable[str],
    kind: Literal["managed", "kubernetes"],
) -> None:
    """Azure's rules for an endpoint's split; raises ValueError with the first one broken.

    Shared by the spec (config time) and the traffic provider's `check` (before
    anything is sent to Azure)."""
    names = set(deployments)
    unknown = sorted(set(traffic) - names)
    if unknown:
        raise ValueError(
            f"traffic names {unknown}, which are not deployments of this endpoint "
            f"(deployments: {sorted(names) or 'none'})"
        )
    total = sum(traffic.values())
    if total not in (0, 100):
        raise ValueError(f"traffic sums to {_number(total)}; Azure takes 0 or 100")
    if not mirror_traffic:
        return
    if kind == "kubernetes":
        raise ValueError("mirror_traffic: Kubernetes endpoints do not support mirroring")
    if len(mirror_traffic) > 1:
        raise ValueError(
            f"mirror_traffic names {sorted(mirror_traffic)}; Azure mirrors to one deployment at most"
        )
    ((target, percent),) = mirror_traffic.items()
    if target not in names:
        raise ValueError(f"mirror_traffic names {target!r}, which is not a deployment")
    if not 0 <= percent <= MAX_MIRROR_PERCENT:
        raise ValueError(
            f"mirror_traffic[{target!r}] is {_number(percent)}; Azure mirrors at most "
            f"{MAX_MIRROR_PERCENT}%"
        )
    if traffic.get(target, 0) > 0:
        raise ValueError(
            f"mirror_traffic[{target!r}]: {target!r} has live traffic "
            f"({_number(traffic[target])}%); a deployment gets live or mirrored traffic, not both"
        )


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value
