"""An online deployment (CLI v2 `managedOnlineDeployment` / `kubernetesOnlineDeployment`)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, StrictInt, StringConstraints, model_validator

from .assets import AssetName, CodeConfiguration, EnvironmentRef, ModelRef
from .autoscale import AutoscaleSpec
from .base import LowerCase, ScalarString, Spec, schema_stem
from .quantity import GpuCount, Quantity, parse_quantity
from .scoring_image import runs_scoring_image
from .types import (
    DeploymentName,
    EnvironmentVariables,
    Flag,
    Fraction,
    NonNegativeInt,
    PositiveInt,
    Seconds,
    Tags,
)

# Azure ML's request timeout ceilings (quotas doc): 180 s managed, 300 s Kubernetes.
MAX_REQUEST_TIMEOUT_MS = {"managed": 180_000, "kubernetes": 300_000}
# "Number of instances per deployment: 50" for managed online endpoints (Azure ML's
# "Manage and increase quotas" doc, ms.date 2026-01-27; Azure support can raise it).
MAX_MANAGED_INSTANCES = 50
# What each CLI v2 `$schema` of an online deployment says its `type` is.
# Read without regard to case (amlkit/specs/cli_yaml.py `SCHEMA_KINDS`).
_SCHEMA_TYPES = {"managedonlinedeployment": "managed", "kubernetesonlinedeployment": "kubernetes"}


def schema_type(data: Any) -> str | None:
    """`managed` or `kubernetes` when a raw deployment's `$schema` says which, else None."""
    stem = schema_stem(data.get("$schema")) if isinstance(data, dict) else None
    return _SCHEMA_TYPES.get((stem or "").lower())


class ProbeSettings(Spec):
    """Liveness/readiness probe; seconds, as CLI v2 writes them (ISO-8601 in ARM)."""

    initial_delay: Seconds = 10
    period: Seconds = 10
    timeout: Seconds = 2
    success_threshold: PositiveInt = 1
    failure_threshold: PositiveInt = 30


class RequestSettings(Spec):
    request_timeout_ms: Annotated[StrictInt, Field(ge=1, le=300_000)] = 5000
    """Azure answers 408 past it; managed deployments allow up to 180,000, Kubernetes 300,000."""
    max_concurrent_requests_per_instance: PositiveInt = 1
    """Azure answers 429 past it; set it together with WORKER_COUNT."""
    max_queue_wait_ms: NonNegativeInt | None = None
    """Deprecated for managed endpoints; kept so existing files load."""


class ScaleSettings(Spec):
    type: Annotated[Literal["default", "target_utilization"], LowerCase] = "default"
    min_instances: PositiveInt = 1
    max_instances: PositiveInt = 1
    polling_interval: Seconds = 1
    target_utilization_percentage: Annotated[StrictInt, Field(ge=1, le=100)] = 70

    @model_validator(mode="after")
    def _min_le_max(self) -> ScaleSettings:
        tuned = sorted(self.model_fields_set - {"type"})
        if self.type == "default" and tuned:
            # Azure's DefaultScaleSettings carries none of them: they would not be sent.
            raise ValueError(
                f"{', '.join(tuned)}: only `type: target_utilization` takes these; "
                "`type: default` scales by instance_count"
            )
        if self.min_instances > self.max_instances:
            raise ValueError(
                f"min_instances ({self.min_instances}) is above max_instances ({self.max_instances})"
            )
        return self


DEFAULT_COLLECTION_PATH = "azureml://datastores/workspaceblobstore/paths/modelDataCollector"
"""Where a collection writes when its file names no `data.path`: azure-ai-ml's
`DEFAULT_MDC_PATH`, then `<endpoint>/<deployment>/<collection>` below it."""


class CollectionData(Spec):
    """The data asset a collection writes to, registered before the deployment as
    `az ml online-deployment create` registers it (`amlkit.specs.asset_uses`)."""

    name: AssetName | None = None
    """Default: `<endpoint>-<deployment>-<collection>`, as az ml names it."""
    path: str | None = None
    """A datastore or storage URI (`azureml://datastores/<name>/paths/<folder>`); default:
    `DEFAULT_COLLECTION_PATH/<endpoint>/<deployment>/<collection>`, as az ml writes it."""
    version: ScalarString | None = None
    """Default: `1`, as az ml registers it."""

    @model_validator(mode="after")
    def _remote(self) -> CollectionData:
        # Azure writes the collected data there: a local folder is no place for it.
        if self.path is not None and "://" not in self.path:
            raise ValueError(
                f"data.path ({self.path!r}): give a datastore URI "
                "(azureml://datastores/<name>/paths/<folder>) where Azure writes the data"
            )
        return self


class Collection(Spec):
    enabled: Annotated[Literal["true", "false"], LowerCase] = "false"
    data: CollectionData | None = None
    client_id: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _bool_to_string(cls, data: Any) -> Any:
        # CLI v2 writes 'True'/'False' strings; YAML users also write booleans.
        if isinstance(data, dict) and isinstance(data.get("enabled"), bool):
            return {**data, "enabled": str(data["enabled"]).lower()}
        return data


class RequestLogging(Spec):
    capture_headers: tuple[str, ...] = ()


class DataCollector(Spec):
    collections: dict[str, Collection] = {}
    sampling_rate: Fraction = 1.0
    rolling_rate: Annotated[Literal["minute", "hour", "day", "month", "year"], LowerCase] = "hour"
    request_logging: RequestLogging | None = None


class ResourceList(Spec):
    cpu: Quantity | None = None
    """e.g. `"0.5"` or `500m`."""
    memory: Quantity | None = None
    """e.g. `512Mi` or `0.5Gi`."""
    nvidia_gpu: GpuCount | None = Field(default=None, alias="nvidia.com/gpu")
    """Whole GPUs; under `limits` only."""


class ResourceRequirements(Spec):
    """Container requests and limits (Kubernetes deployments only), with the rules of
    Azure ML's instance-types doc ("Resource section validation"): `requests.cpu` and
    `requests.memory` required and not zero, memory at least 1 MB, GPUs under `limits`
    only, and no request above its limit."""

    requests: ResourceList | None = None
    limits: ResourceList | None = None

    @model_validator(mode="after")
    def _rules(self) -> ResourceRequirements:
        requests, limits = self.requests, self.limits
        if requests is None or requests.cpu is None or requests.memory is None:
            raise ValueError("requests.cpu and requests.memory are required with `resources`")
        if requests.nvidia_gpu is not None:
            raise ValueError("requests.nvidia.com/gpu: GPUs go under limits only")
        for side, values in (("requests", requests), ("limits", limits)):
            for key in ("cpu", "memory"):
                text = getattr(values, key) if values is not None else None
                if text is not None and parse_quantity(text) <= 0:
                    raise ValueError(f"{side}.{key}: Azure refuses zero")
        if parse_quantity(requests.memory) < 10**6:
            raise ValueError(f"requests.memory ({requests.memory}) is below Azure's 1 MB")
        for key in ("cpu", "memory"):
            low, high = getattr(requests, key), getattr(limits, key) if limits else None
            if high is not None and parse_quantity(low) > parse_quantity(high):
                raise ValueError(f"requests.{key} ({low}) is above limits.{key} ({high})")
        return self


class OnlineDeploymentSpec(Spec):
    """Every managed (and Kubernetes) online deployment field of CLI v2."""

    schema_: str | None = Field(default=None, alias="$schema")
    name: DeploymentName
    endpoint_name: str | None = None
    """The endpoint it belongs to; under an endpoint in a stack it must match (or be absent)."""
    type: Annotated[Literal["managed", "kubernetes"], LowerCase] | None = None
    """Default: `kubernetes` when the endpoint names a compute, else `managed`."""
    description: str | None = None
    tags: Tags = {}
    properties: dict[str, str] = {}
    model: ModelRef | None = None
    model_mount_path: str | None = None
    code_configuration: CodeConfiguration | None = None
    environment: EnvironmentRef | None = None
    """Default: the stack's scoring image (runtime-image/) when `code_configuration` is
    given; with neither, Azure generates both for an MLflow model (no-code deployment)."""
    environment_variables: EnvironmentVariables = {}
    instance_type: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None
    """VM size (managed, required) or an instance-type CRD name (Kubernetes)."""
    instance_count: PositiveInt | None = None
    """Required for managed deployments (at most 50); Azure reserves 20% more for upgrades."""
    app_insights_enabled: Flag = False
    scale_settings: ScaleSettings | None = None
    request_settings: RequestSettings = RequestSettings()
    liveness_probe: ProbeSettings = ProbeSettings()
    readiness_probe: ProbeSettings = ProbeSettings()
    egress_public_network_access: Annotated[Literal["enabled", "disabled"], LowerCase] | None = None
    private_network_connection: Flag | None = None
    """Legacy network isolation (managed only). `true` is sent as az ml sends it, as
    `private-network-connection` in the deployment's property bag; `false` or absent
    sends nothing (az ml's conversion drops it too)."""
    data_collector: DataCollector | None = None
    resources: ResourceRequirements | None = None
    autoscale: AutoscaleSpec | None = None
    """amlkit: Azure Monitor autoscale for this deployment (managed only)."""

    @model_validator(mode="after")
    def _consistent(self) -> OnlineDeploymentSpec:
        said = schema_type({"$schema": self.schema_})
        if said is not None and self.type is not None and said != self.type:
            raise ValueError(
                f"$schema says a {said} deployment but type is {self.type!r}; a file's kind "
                "must fit the endpoint it sits under"
            )
        if self.liveness_probe.success_threshold != 1:
            raise ValueError("liveness_probe.success_threshold: Azure fixes it at 1")
        if self.type == "managed" or self.type is None:
            self._check_managed()
        if self.type == "kubernetes":
            self._check_kubernetes()
        return self

    def _check_managed(self) -> None:
        for field in ("instance_type", "instance_count"):
            if getattr(self, field) is None:
                raise ValueError(f"{field} is required for a managed online deployment")
        if self.instance_count is not None and self.instance_count > MAX_MANAGED_INSTANCES:
            raise ValueError(
                f"instance_count ({self.instance_count}) is above Azure's "
                f"{MAX_MANAGED_INSTANCES} instances per managed deployment (quotas doc)"
            )
        if self.resources is not None and self.type == "managed":
            raise ValueError("resources: only Kubernetes deployments take requests/limits")
        if self.scale_settings is not None and self.scale_settings.type != "default":
            raise ValueError(
                "scale_settings.type: managed deployments take only `default`; "
                "scale them with `autoscale` (Azure Monitor)"
            )
        if self.autoscale is not None and self.instance_count is not None:
            low, high = self.autoscale.min_instances, self.autoscale.max_instances
            if not low <= self.instance_count <= high:
                raise ValueError(
                    f"instance_count ({self.instance_count}) lies outside autoscale "
                    f"min_instances..max_instances ({low}..{high})"
                )

    def _check_kubernetes(self) -> None:
        if self.autoscale is not None:
            raise ValueError(
                "autoscale: Kubernetes deployments scale with scale_settings.type target_utilization"
            )
        if self.egress_public_network_access is not None:
            raise ValueError("egress_public_network_access: managed deployments only")
        if self.private_network_connection is not None:
            # az ml's Kubernetes conversion drops it: it would not reach Azure.
            raise ValueError("private_network_connection: managed deployments only")

    @property
    def guaranteed_instances(self) -> int:
        """Instances it always runs: the minimum of its autoscale or of its Kubernetes
        target-utilization scaling, else its instance count (Azure's default 1)."""
        if self.autoscale is not None:
            return self.autoscale.min_instances
        if self.scale_settings is not None and self.scale_settings.type == "target_utilization":
            return self.scale_settings.min_instances
        return self.instance_count or 1

    @property
    def on_scoring_image(self) -> bool:
        """Whether the stack's scoring image (runtime-image/, amlkit-serve) runs this deployment."""
        return runs_scoring_image(self.environment, self.code_configuration)

    def runtime_variables(self) -> dict[str, str]:
        """The environment variables, plus, on the stack's scoring image, the request
        settings for amlkit-serve. A value the user set always wins."""
        if not self.on_scoring_image:
            return dict(self.environment_variables)
        runtime = {
            "SCORING_TIMEOUT_MS": str(self.request_settings.request_timeout_ms),
            "AMLKIT_MAX_CONCURRENT_REQUESTS": str(
                self.request_settings.max_concurrent_requests_per_instance
            ),
            "AMLKIT_DEPLOYMENT_NAME": self.name,
        }
        return {**runtime, **self.environment_variables}

    def sent_properties(self) -> dict[str, str]:
        """The property bag Azure receives: the file's `properties`, plus
        `private-network-connection` where the file sets it (azure-ai-ml's
        `ManagedOnlineDeployment._to_rest_object` puts it there; Azure's bag holds strings)."""
        if self.private_network_connection:
            return {**self.properties, "private-network-connection": "true"}
        return dict(self.properties)

    def timeout_ceiling_ms(self, kind: str) -> int:
        """The largest request timeout Azure accepts for this deployment kind."""
        return MAX_REQUEST_TIMEOUT_MS[kind]
