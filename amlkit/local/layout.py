"""What of a stack `amlkit local` can serve on this machine, and where its files go.

Local mode runs an online deployment as its container runs it on Azure: amlkit-serve
(the runtime package of runtime-image/) with the deployment's scoring script, its
environment variables and request settings, and AZUREML_MODEL_DIR laid out as Azure
lays out a model: `<root>/azureml-models/<name>/<version>/<the folder or file's name>`,
so a script written against Azure's paths finds its files unchanged.

Only deployments whose code and model are local paths and which run on the stack's
scoring image can be served: a registered asset would have to be downloaded from a
workspace, and another image needs a container engine. The others are listed with
the reason, and requests routed to them are answered 503 saying so.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from amlkit.specs import (
    BatchDeploymentSpec,
    ConfigError,
    OnlineDeploymentSpec,
    OnlineEndpointSpec,
    PipelineBatchDeploymentSpec,
    StackSpec,
)
from amlkit.specs.assets import ModelAsset
from amlkit.specs.errors import Problem

DEFAULT_MODEL_VERSION = "1"


class LocalModeError(Exception):
    """Local mode cannot go on; the message says what and where to look."""


@dataclass(frozen=True)
class LocalDeployment:
    """One deployment (online or batch) that local mode runs, with all the runtime needs."""

    endpoint: str
    name: str
    code_dir: Path
    scoring_script: str
    model_path: Path | None
    """The local model folder or file; None for a deployment without a model."""
    model_name: str
    model_version: str
    variables: dict[str, str] = field(default_factory=dict)
    """Environment variables as the container gets them (request settings included)."""

    @property
    def worker_count(self) -> int:
        raw = self.variables.get("WORKER_COUNT", "1").strip()
        return int(raw) if raw.isdigit() and int(raw) > 0 else 1

    def model_dir(self, root: Path) -> Path:
        """AZUREML_MODEL_DIR under `root`, as Azure lays a registered model out."""
        return root / "azureml-models" / self.model_name / self.model_version


@dataclass(frozen=True)
class NotServed:
    """A deployment local mode cannot run, and why."""

    name: str
    reason: str


@dataclass(frozen=True)
class LocalEndpoint:
    """An online endpoint as local mode serves it: its routing rules and deployments."""

    name: str
    auth_mode: str
    traffic: dict[str, int]
    mirror_traffic: dict[str, int]
    deployments: tuple[LocalDeployment, ...]
    not_served: tuple[NotServed, ...]

    def reason_not_served(self, deployment: str) -> str | None:
        return next((n.reason for n in self.not_served if n.name == deployment), None)

    @property
    def names(self) -> list[str]:
        return [d.name for d in self.deployments] + [n.name for n in self.not_served]


def local_endpoints(spec: StackSpec, only: Sequence[str] = ()) -> list[LocalEndpoint]:
    """The stack's online endpoints (or those named in `only`) as local mode serves them.

    Raises ConfigError naming an endpoint of `only` that the stack does not hold.
    """
    known = [e.name for e in spec.online_endpoints]
    missing = [name for name in only if name not in known]
    if missing:
        raise ConfigError(
            [
                Problem(
                    file="--endpoint",
                    path="",
                    value=name,
                    message=f"the stack has no such online endpoint; it has: {', '.join(known) or 'none'}",
                )
                for name in missing
            ]
        )
    return [_endpoint(e) for e in spec.online_endpoints if not only or e.name in only]


def _endpoint(spec: OnlineEndpointSpec) -> LocalEndpoint:
    served: list[LocalDeployment] = []
    not_served: list[NotServed] = []
    for deployment in spec.deployments:
        reason = _why_not_local(deployment)
        if reason is None:
            served.append(_deployment(spec.name, deployment))
        else:
            not_served.append(NotServed(deployment.name, reason))
    return LocalEndpoint(
        name=spec.name,
        auth_mode=spec.auth_mode,
        traffic={k: int(v) for k, v in spec.traffic.items()},
        mirror_traffic={k: int(v) for k, v in spec.mirror_traffic.items()},
        deployments=tuple(served),
        not_served=tuple(not_served),
    )


def _why_not_local(deployment: OnlineDeploymentSpec | BatchDeploymentSpec) -> str | None:
    code = deployment.code_configuration
    if code is None:
        return "no code_configuration (Azure generates the server of a no-code MLflow deployment)"
    if not deployment.on_scoring_image:
        return "runs its own image, and local mode has no container engine"
    if not Path(code.code).is_dir():
        return f"code {code.code} is a registered asset, not a local folder"
    model = deployment.model
    if isinstance(model, str):
        return f"model {model} is a registered asset, not a local path"
    if model is not None and not Path(model.path).exists():
        return f"model path {model.path} does not exist"
    return None


def _deployment(endpoint: str, spec: OnlineDeploymentSpec | BatchDeploymentSpec) -> LocalDeployment:
    code = spec.code_configuration
    assert code is not None  # checked by _why_not_local
    model = spec.model if isinstance(spec.model, ModelAsset) else None
    return LocalDeployment(
        endpoint=endpoint,
        name=spec.name,
        code_dir=Path(code.code),
        scoring_script=code.scoring_script,
        model_path=Path(model.path) if model is not None else None,
        model_name=(model.name if model is not None and model.name else f"{spec.name}-model"),
        model_version=(model.version if model is not None and model.version else None)
        or DEFAULT_MODEL_VERSION,
        variables=(
            spec.runtime_variables()
            if isinstance(spec, OnlineDeploymentSpec)
            else dict(spec.settings.environment_variables)
        ),
    )


def local_batch_deployment(
    spec: StackSpec, endpoint: str | None, deployment: str | None
) -> tuple[LocalDeployment, BatchDeploymentSpec]:
    """The model batch deployment an invocation of `endpoint` runs (its default
    deployment, or `deployment`), ready to run here. `endpoint` may be omitted when the
    stack has one.

    Raises ConfigError for a name the stack does not hold, LocalModeError for a
    deployment that cannot run on this machine (a pipeline-component one runs through
    `amlkit.local.pipeline` instead).
    """
    endpoint, found = find_batch_deployment(spec, endpoint, deployment)
    if isinstance(found, PipelineBatchDeploymentSpec):
        raise LocalModeError(
            f"batch deployment {endpoint}/{found.name} is a pipeline-component deployment; "
            "run it with amlkit.local.pipeline"
        )
    reason = _why_not_local(found)
    if reason is not None:
        raise LocalModeError(
            f"batch deployment {endpoint}/{found.name} cannot run locally: {reason}"
        )
    return _deployment(endpoint, found), found


def find_batch_deployment(
    spec: StackSpec, endpoint: str | None, deployment: str | None
) -> tuple[str, BatchDeploymentSpec | PipelineBatchDeploymentSpec]:
    """The endpoint's name and the deployment an invocation of it runs (its default
    deployment, or `deployment`); ConfigError for a name the stack does not hold."""
    endpoints = {e.name: e for e in spec.batch_endpoints}
    if endpoint is None:
        if len(endpoints) != 1:
            raise ConfigError(
                [
                    Problem(
                        file="--endpoint",
                        path="",
                        message="name the batch endpoint to invoke; the stack has: "
                        + (", ".join(endpoints) or "none"),
                    )
                ]
            )
        endpoint = next(iter(endpoints))
    chosen = endpoints.get(endpoint)
    if chosen is None:
        raise ConfigError(
            [
                Problem(
                    file="--endpoint",
                    path="",
                    value=endpoint,
                    message="the stack has no such batch endpoint; it has: "
                    + (", ".join(endpoints) or "none"),
                )
            ]
        )
    names = [d.name for d in chosen.deployments]
    name = deployment or chosen.default_deployment
    found = next((d for d in chosen.deployments if d.name == name), None)
    if found is None:
        raise ConfigError(
            [
                Problem(
                    file="--deployment",
                    path="",
                    value=name,
                    message=f"batch endpoint {endpoint} has no such deployment; it has: "
                    + (", ".join(names) or "none"),
                )
            ]
        )
    return endpoint, found


def lay_out_model(deployment: LocalDeployment, root: Path) -> Path:
    """Link the model into Azure's layout under `root`; AZUREML_MODEL_DIR.

    A link, not a copy: a model retrained in place is what the next start loads.
    """
    model_dir = deployment.model_dir(root)
    model_dir.mkdir(parents=True, exist_ok=True)
    if deployment.model_path is not None:
        link = model_dir / deployment.model_path.name
        if link.is_symlink() or link.exists():
            link.unlink()
        os.symlink(deployment.model_path, link, target_is_directory=deployment.model_path.is_dir())
    return model_dir
