"""What a deployment runs and how it stays healthy (rules 13, 14, 15, 23 and 24)."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

from pulumi_policy import ResourceValidationArgs

from amlkit.specs.errors import ConfigError
from amlkit.specs.loader import read_text

from .base import (
    ADVISORY,
    BATCH_DEPLOYMENT,
    DOCKER_IMAGE,
    ENVIRONMENT_VERSION,
    K8S_DEPLOYMENT,
    MANDATORY,
    ONLINE_DEPLOYMENT,
    Anchor,
    duration,
    get,
    is_kubernetes,
    lower,
    num,
    resource_rule,
    setting,
)

_DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")


def _image_problems(where: str, image: Any, suffixes: list[str]) -> Iterator[str]:
    if not isinstance(image, str) or not image:
        yield f"{where} is not set (an image built from a context has no digest to pin)"
        return
    if not _DIGEST.search(image):
        yield f"{where} {image!r} is not pinned by digest (@sha256:...)"
    host = image.split("/", 1)[0].lower()
    if not any(host.endswith(s) for s in suffixes):
        yield f"{where} {image!r} does not come from an allowed registry ({', '.join(suffixes)})"


@resource_rule(
    name="image-pinned-by-digest",
    description="Deployments run an immutable environment version whose image is referenced "
    "by digest from an Azure container registry, never a moving tag such as :latest.",
    anchor=Anchor(
        "checkov", "CKV_DOCKER_7 / CKV_K8S_14 / CKV_K8S_43; azure-policy 021f8078, febd0533"
    ),
    fix="leave `environment` unset to run the stack's scoring image (registered by digest), or "
    "name a registered environment as azureml:<name>:<version> and an image as "
    "<registry>.azurecr.io/<repo>@sha256:<digest>",
    level=MANDATORY,
    types=(ENVIRONMENT_VERSION, ONLINE_DEPLOYMENT, BATCH_DEPLOYMENT, K8S_DEPLOYMENT),
    config={
        "registrySuffixes": {
            "type": "array",
            "items": {"type": "string"},
            "default": [".azurecr.io"],
            "description": "Registry host suffixes images may come from.",
        }
    },
)
def image_pinned(args: ResourceValidationArgs) -> Iterator[str]:
    suffixes = list(setting(args, "registrySuffixes", [".azurecr.io"]))
    if args.resource_type == ENVIRONMENT_VERSION:
        yield from _image_problems(
            "properties.image", get(args.props, "properties.image"), suffixes
        )
        return
    if args.resource_type == K8S_DEPLOYMENT:
        containers = get(args.props, "spec.template.spec.containers") or []
        for index, container in enumerate(containers):
            where = f"container {get(container, 'name') or index} image"
            yield from _image_problems(where, get(container, "image"), suffixes)
        return
    if args.resource_type == BATCH_DEPLOYMENT and get(
        args.props, "properties.deploymentConfiguration"
    ):
        # A pipeline-component deployment runs its steps' environments, each an
        # EnvironmentVersion this rule checks where it is registered.
        return
    env = get(args.props, "properties.environmentId")
    if not isinstance(env, str) or not env:
        yield "properties.environmentId is not set (the deployment's image cannot be checked)"
        return
    if env.endswith(("@latest", "/versions/latest", ":latest")):
        yield f"properties.environmentId {env!r} follows the latest version"
    elif "/versions/" not in env and not re.match(r"^azureml:[^:@]+:[^:@]+$", env):
        yield f"properties.environmentId {env!r} names no version"


_TIMEOUT_CEILING = {False: timedelta(seconds=180), True: timedelta(seconds=300)}


@resource_rule(
    name="aml-deployment-probes",
    description="Online deployments have liveness and readiness probes, a request timeout "
    "within Azure's ceiling (180 s managed, 300 s Kubernetes) and a concurrency limit.",
    anchor=Anchor(
        "azure-doc",
        "azureml/how-to-manage-quotas (request timeout); checkov CKV_K8S_8 / CKV_K8S_9; azure-policy b1a9997f",
    ),
    fix="set liveness_probe, readiness_probe and request_settings (request_timeout_ms, "
    "max_concurrent_requests_per_instance) on the deployment",
    level=MANDATORY,
    types=(ONLINE_DEPLOYMENT,),
)
def deployment_probes(args: ResourceValidationArgs) -> Iterator[str]:
    props = args.props
    for probe in ("livenessProbe", "readinessProbe"):
        if get(props, f"properties.{probe}") is None:
            yield f"properties.{probe} is not set"
    timeout_text = get(props, "properties.requestSettings.requestTimeout")
    ceiling = _TIMEOUT_CEILING[is_kubernetes(props)]
    timeout = duration(timeout_text)
    if timeout_text is None:
        yield "properties.requestSettings.requestTimeout is not set"
    elif timeout is None:
        yield f"properties.requestSettings.requestTimeout {timeout_text!r} is not an ISO-8601 duration"
    elif timeout > ceiling:
        yield f"properties.requestSettings.requestTimeout {timeout_text} exceeds {int(ceiling.total_seconds())} s"
    if get(props, "properties.requestSettings.maxConcurrentRequestsPerInstance") is None:
        yield "properties.requestSettings.maxConcurrentRequestsPerInstance is not set"


@resource_rule(
    name="aml-deployment-capacity",
    description="Online deployments run at least the configured number of instances "
    "(2 in production, so one can fail or upgrade), at most 50, and fit the instance quota "
    "with Azure's 20% upgrade surge.",
    anchor=Anchor(
        "azure-doc", "azureml/how-to-manage-quotas#virtual-machine-quota (20% extra for upgrades)"
    ),
    fix="raise instance_count (and autoscale min_instances) to at least minInstances, or lower "
    "it to fit instanceQuota / 1.2",
    level=MANDATORY,
    types=(ONLINE_DEPLOYMENT,),
    config={
        "minInstances": {"type": "integer", "minimum": 1, "default": 2},
        "maxInstances": {"type": "integer", "minimum": 1, "default": 50},
        "instanceQuota": {
            "type": "integer",
            "minimum": 1,
            "description": "Instances the subscription's quota allows this deployment; unset: not checked.",
        },
    },
)
def deployment_capacity(args: ResourceValidationArgs) -> Iterator[str]:
    low = int(setting(args, "minInstances", 2))
    high = int(setting(args, "maxInstances", 50))
    quota = num(setting(args, "instanceQuota", None))
    scale_type = lower(get(args.props, "properties.scaleSettings.scaleType"))
    if scale_type == "targetutilization":
        capacity = num(get(args.props, "properties.scaleSettings.minInstances"))
        where = "properties.scaleSettings.minInstances"
        ceiling = num(get(args.props, "properties.scaleSettings.maxInstances"))
    else:
        capacity = num(get(args.props, "sku.capacity"))
        where = "sku.capacity"
        ceiling = capacity
    if capacity is None:
        yield f"{where} is not set (Azure runs 1 instance; at least {low} wanted)"
        return
    if capacity < low:
        yield f"{where} is {capacity} (at least {low})"
    if ceiling is not None and ceiling > high:
        yield f"{where} allows {ceiling} instances (at most {high})"
    if quota is not None and ceiling is not None and math.ceil(ceiling * 1.2) > int(quota):
        yield f"{ceiling} instances plus Azure's 20% upgrade surge exceed the quota of {quota}"


_RESOURCE_KEYS = ("cpu", "memory")


def _dockerfile(location: str) -> Path | None:
    """The Dockerfile as the program named it: absolute, or relative to the working
    directory or one of its parents (the pack runs in policy/, amlkit in the project)."""
    path = Path(location)
    if path.is_absolute():
        return path if path.is_file() else None
    for base in (Path.cwd(), *Path.cwd().parents):
        if (base / path).is_file():
            return base / path
    return None


def _dockerfile_problems(location: str) -> Iterator[str]:
    path = _dockerfile(location)
    if path is None:
        yield f"cannot decide: Dockerfile {location!r} is not readable from here"
        return
    try:  # a regular file under the loader's cap, read strictly
        text = read_text(path)
    except ConfigError as error:
        yield f"cannot decide: Dockerfile {error}"
        return
    lines = [line.strip() for line in text.splitlines()]
    users = [line.split(None, 1)[1].strip() for line in lines if line.upper().startswith("USER ")]
    if not users:
        yield f"{location}: no USER instruction (the image runs as root)"
    elif users[-1].split(":")[0] in {"root", "0"}:
        yield f"{location}: the final USER is {users[-1]!r} (root)"
    if not any(line.upper().startswith("HEALTHCHECK ") for line in lines):
        yield f"{location}: no HEALTHCHECK instruction"


@resource_rule(
    name="kubernetes-deployment-hardened",
    description="Kubernetes online deployments set CPU and memory requests and limits; pods run "
    "as non-root without privilege escalation on a read-only root filesystem; the scoring "
    "image's Dockerfile ends as a non-root USER with a HEALTHCHECK.",
    anchor=Anchor(
        "checkov",
        "CKV_K8S_10-13 / CKV_K8S_20 / CKV_K8S_22 / CKV_K8S_23 / CKV_K8S_40 / CKV_DOCKER_2 / CKV_DOCKER_3 / CKV_DOCKER_8; azure-policy e345eecc, f06ddb64, df49d893, 1c6e92c9",
    ),
    fix="set resources.requests and resources.limits (cpu, memory) on Kubernetes deployments; "
    "securityContext runAsNonRoot, allowPrivilegeEscalation false, readOnlyRootFilesystem on "
    "pods; a non-root USER and a HEALTHCHECK in the Dockerfile",
    level=MANDATORY,
    types=(ONLINE_DEPLOYMENT, K8S_DEPLOYMENT, DOCKER_IMAGE),
)
def kubernetes_hardened(args: ResourceValidationArgs) -> Iterator[str]:
    props = args.props
    if args.resource_type == DOCKER_IMAGE:
        location = get(props, "dockerfile.location")
        if not isinstance(location, str):
            yield "dockerfile.location is not set (inline Dockerfiles cannot be checked)"
            return
        yield from _dockerfile_problems(location)
        return
    if args.resource_type == ONLINE_DEPLOYMENT:
        if not is_kubernetes(props):
            return  # managed deployments: Azure runs the pods
        requirements = "properties.containerResourceRequirements"
        for side in ("containerResourceRequests", "containerResourceLimits"):
            for key in _RESOURCE_KEYS:
                if get(props, f"{requirements}.{side}.{key}") is None:
                    yield f"{requirements}.{side}.{key} is not set"
        return
    containers = get(props, "spec.template.spec.containers") or []
    pod = get(props, "spec.template.spec.securityContext") or {}
    if not containers:
        yield "spec.template.spec.containers is not set"
    for container in containers:
        cname = get(container, "name") or "?"
        security = get(container, "securityContext") or {}
        if not (get(security, "runAsNonRoot") or get(pod, "runAsNonRoot")):
            yield f"container {cname}: runAsNonRoot is not true"
        if get(security, "allowPrivilegeEscalation") is not False:
            yield f"container {cname}: allowPrivilegeEscalation is not false"
        if get(security, "readOnlyRootFilesystem") is not True:
            yield f"container {cname}: readOnlyRootFilesystem is not true"
        for side in ("requests", "limits"):
            for key in _RESOURCE_KEYS:
                if get(container, f"resources.{side}.{key}") is None:
                    yield f"container {cname}: resources.{side}.{key} is not set"


@resource_rule(
    name="aml-model-source",
    description="A deployment's model comes from this workspace or from an allowed Azure ML "
    "registry (azureml://registries/<allowed>/...).",
    anchor=Anchor("azure-policy", "19539b54 / 12e5dd16 (preview)"),
    fix="register the model in this workspace (a local `model.path` does that) or list its "
    "registry under allowedRegistries in the policy pack config",
    level=ADVISORY,
    types=(ONLINE_DEPLOYMENT, BATCH_DEPLOYMENT),
    config={
        "allowedRegistries": {
            "type": "array",
            "items": {"type": "string"},
            "default": ["azureml"],
            "description": "Azure ML registries models may come from (`azureml` is Microsoft's).",
        }
    },
)
def model_source(args: ResourceValidationArgs) -> Iterator[str]:
    model = get(args.props, "properties.model")
    if args.resource_type == BATCH_DEPLOYMENT:
        model = get(args.props, "properties.model.assetId")
    if model is None:
        return  # no model asset: the image carries it, and image-pinned-by-digest covers that
    if not isinstance(model, str):
        yield f"properties.model {model!r} is not a reference"
        return
    allowed = setting(args, "allowedRegistries", ["azureml"])
    match = re.match(r"^azureml://registries/([^/]+)/", model)
    if match:
        if match[1] not in allowed:
            yield f"model {model!r} comes from registry {match[1]!r} (allowed: {', '.join(allowed) or 'none'})"
        return
    workspace = get(args.props, "workspaceName")
    own = f"/workspaces/{workspace}/models/".lower()
    if model.startswith("azureml:") and not model.startswith("azureml://"):
        return  # a model registered in this workspace, by name
    if not (isinstance(workspace, str) and own in model.lower()):
        yield f"model {model!r} is neither in workspace {workspace!r} nor in an allowed registry"
