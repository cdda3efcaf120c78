"""Where amlkit deliberately sends something else than `az ml` for a field a CLI v2 file
leaves unset, each with its reason, and the plan's notices on the resources they affect.

One table, read by three readers so they cannot disagree: `amlkit plan` (a `notices`
list in the plan JSON and a line each in the human view), README.md's "Differences
from az ml" table (tests/plan/test_differences.py renders it from here and compares),
and the comparison with azure-ai-ml's bodies (tests/plan/test_azure_fidelity.py, which
tolerates a body difference only where an entry here, or a same-effect entry of its
own, explains it).

Values Azure would default to anyway and amlkit writes out (probe and request
settings, `sku.capacity: 1`, ...) are not differences: they change nothing in Azure.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from amlkit.specs.pipeline_batch_deployment import PipelineBatchDeploymentSpec
from amlkit.specs.stack import StackSpec

ML = "azure-native:machinelearningservices:"

Target = tuple[str, Mapping[str, str]]
"""A resource a difference affects: its type token and the inputs that pick it out."""


@dataclass(frozen=True)
class Difference:
    key: str
    """A stable kebab-case id (the plan JSON's `notices[].difference`)."""
    applies_to: str
    """Which resources, in words."""
    field: str
    """The CLI v2 field the file leaves unset."""
    body_paths: tuple[str, ...]
    """Where it shows in the ARM request body (dotted; `*` one segment)."""
    amlkit: str
    """What amlkit sends."""
    az_ml: str
    """What `az ml` (azure-ai-ml) sends."""
    reason: str
    targets: Callable[[StackSpec], Iterator[Target]]
    """The resources of a stack it affects."""

    def message(self) -> str:
        return (
            f"{self.field} left unset: amlkit sends {self.amlkit} where az ml sends "
            f"{self.az_ml}; {self.reason}"
        )


def _clusters_without_ssh_choice(spec: StackSpec) -> Iterator[Target]:
    for cluster in spec.compute:
        if "ssh_public_access_enabled" not in cluster.model_fields_set:
            yield f"{ML}Compute", {"computeName": cluster.name}


def _deployments_on_scoring_image(spec: StackSpec) -> Iterator[Target]:
    for online in spec.online_endpoints:
        for deployment in online.deployments:
            if deployment.environment is None and deployment.code_configuration is not None:
                yield (
                    f"{ML}OnlineDeployment",
                    {"endpointName": online.name, "deploymentName": deployment.name},
                )
    for batch in spec.batch_endpoints:
        for job in batch.deployments:
            if isinstance(job, PipelineBatchDeploymentSpec):
                continue  # its steps name their own environments
            if job.environment is None and job.code_configuration is not None:
                yield (
                    f"{ML}BatchDeployment",
                    {"endpointName": batch.name, "deploymentName": job.name},
                )


_TAGGED = ("OnlineEndpoint", "OnlineDeployment", "BatchEndpoint", "BatchDeployment", "Compute")


def _every_cli_v2_resource(spec: StackSpec) -> Iterator[Target]:
    if spec.online_endpoints or spec.batch_endpoints or spec.compute:
        for name in _TAGGED:
            yield f"{ML}{name}", {}


def _batch_endpoints_with_default(spec: StackSpec) -> Iterator[Target]:
    for batch in spec.batch_endpoints:
        if batch.defaults.deployment_name is not None:
            yield f"{ML}BatchEndpoint", {"endpointName": batch.name}


DIFFERENCES: tuple[Difference, ...] = (
    Difference(
        key="cluster-ssh-port-closed",
        applies_to="compute clusters",
        field="ssh_public_access_enabled",
        body_paths=("properties.properties.remoteLoginPortPublicAccess",),
        amlkit="`Disabled`",
        az_ml="`NotSpecified`",
        reason="Azure opens the SSH port on nodes with a public IP when not specified; "
        "amlkit keeps it closed unless the file enables it (checkov CKV_AZURE_142 spirit)",
        targets=_clusters_without_ssh_choice,
    ),
    Difference(
        key="scoring-image-environment",
        applies_to="online and batch deployments with code_configuration and no environment",
        field="environment",
        body_paths=(
            "properties.environmentId",
            "properties.environmentVariables.SCORING_TIMEOUT_MS",
            "properties.environmentVariables.AMLKIT_MAX_CONCURRENT_REQUESTS",
            "properties.environmentVariables.AMLKIT_DEPLOYMENT_NAME",
        ),
        amlkit="the stack's scoring image environment (runtime-image/), and the request "
        "settings as the variables its server reads",
        az_ml="no environmentId",
        reason="a scoring script needs an environment to run in; amlkit's own image "
        "serves the Azure ML scoring contract (DESIGN.md, Runtime)",
        targets=_deployments_on_scoring_image,
    ),
    Difference(
        key="stack-tags",
        applies_to="every endpoint, deployment and compute cluster",
        field="tags",  # the file's own are kept: "left unset" means amlkit's keys
        body_paths=("tags", "tags.environment", "tags.managed-by"),
        amlkit="the stack's tags plus `environment` and `managed-by: amlkit`",
        az_ml="only the file's tags",
        reason="`amlkit teardown` and cost reports find a stack's resources by them; "
        "the file's own tags are kept and win",
        targets=_every_cli_v2_resource,
    ),
    Difference(
        key="batch-default-written-later",
        applies_to="batch endpoints with defaults.deployment_name",
        field="defaults.deployment_name",
        body_paths=("properties.defaults",),
        amlkit="no default with the endpoint, then the default once the deployment exists",
        az_ml="`defaults.deploymentName` with the endpoint",
        reason="Azure refuses a default that names a deployment not yet created, and the "
        "endpoint must exist before its deployments (components/dynamic/endpoint_setting.py)",
        targets=_batch_endpoints_with_default,
    ),
)

BY_KEY: dict[str, Difference] = {d.key: d for d in DIFFERENCES}


def notices(spec: StackSpec, document: Mapping[str, Any]) -> list[dict[str, str]]:
    """One notice per difference and resource of the plan it affects, in plan order:
    `{"difference", "urn", "message"}`."""
    found: list[dict[str, str]] = []
    for difference in DIFFERENCES:
        targets = list(difference.targets(spec))
        for resource in document.get("resources", ()):
            inputs = resource.get("inputs") or {}
            if any(
                resource.get("type") == typ and all(inputs.get(k) == v for k, v in match.items())
                for typ, match in targets
            ):
                found.append(
                    {
                        "difference": difference.key,
                        "urn": resource["urn"],
                        "message": difference.message(),
                    }
                )
    return found


def readme_table() -> str:
    """The Markdown table README.md's "Differences from az ml" section holds."""
    rows = [
        "| resources | field left unset | amlkit sends | az ml sends | why |",
        "| --- | --- | --- | --- | --- |",
    ]
    rows += [
        f"| {d.applies_to} | `{d.field}` | {d.amlkit} | {d.az_ml} | {d.reason} |"
        for d in DIFFERENCES
    ]
    return "\n".join(rows)
