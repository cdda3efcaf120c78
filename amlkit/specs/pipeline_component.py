"""A pipeline component (CLI v2 `pipelineComponent`) and the command components its
steps run (`commandComponent`), as a pipeline-component batch deployment names them.

Each step is a `command` step whose `component` is a command component file (paths
relative to the file that names it, as in `az ml`), an inline command component, or
a registered one (`azureml:name:version`, `azureml:name@latest`, an ARM id). Other
step kinds (`parallel`, nested `pipeline`, `sweep`, ...) are refused in one line:
amlkit would register what it cannot check. Bindings (`${{parent.inputs.x}}`,
`${{parent.jobs.<step>.outputs.y}}`, `${{inputs.x}}` in a command) must name inputs,
outputs and steps that exist, so a typo fails here and not as a failed job on Azure.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    Field,
    PrivateAttr,
    StrictBool,
    StrictFloat,
    StrictInt,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from .assets import ASSET_REFERENCE_PATTERN, AssetName, EnvironmentRef, relative_path
from .base import LowerCase, ScalarString, Spec
from .errors import ConfigError, Source, display_path, problems_from_validation
from .loader import load_yaml
from .types import Tags

ComponentReference = Annotated[str, StringConstraints(pattern=ASSET_REFERENCE_PATTERN)]
"""`azureml:name:version`, `azureml:name@latest`, `azureml://registries/...`, an ARM id."""

DataType = Literal["uri_folder", "uri_file", "mltable", "mlflow_model", "custom_model"]
ValueType = Literal["string", "number", "integer", "boolean"]
IoName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,254}$")]
StepName = Annotated[str, StringConstraints(pattern=r"^[a-z_][a-z0-9_]{0,254}$")]
"""Azure ML node names: lower-case letters, digits and underscores."""

T = TypeVar("T", bound=Spec)

Literal_ = (
    StrictBool
    | Annotated[StrictInt, Field(ge=-(2**53), le=2**53)]
    | Annotated[StrictFloat, Field(ge=-1e300, le=1e300, allow_inf_nan=False)]
    | str
)
"""A literal value: numbers bounded to what a JSON number carries exactly."""

_BINDING = re.compile(r"\$\{\{\s*([^}]*?)\s*\}\}")
_PARENT = re.compile(
    r"^parent\.(?:(?P<io>inputs|outputs)\.(?P<name>\w+)"
    r"|jobs\.(?P<step>\w+)\.outputs\.(?P<output>\w+))$"
)
_OWN = re.compile(r"^(?P<io>inputs|outputs)\.(?P<name>\w+)$")


class ComponentInput(Spec):
    """An input a component declares (`inputs.<name>`)."""

    type: Annotated[DataType | ValueType, LowerCase]
    default: Literal_ | None = None
    optional: StrictBool | None = None
    description: str | None = None
    mode: Annotated[Literal["ro_mount", "download", "direct", "eval_mount"], LowerCase] | None = (
        None
    )


class ComponentOutput(Spec):
    """An output a component declares (`outputs.<name>`): data a step writes."""

    type: Annotated[DataType, LowerCase] = "uri_folder"
    mode: Annotated[Literal["rw_mount", "upload", "direct"], LowerCase] | None = None
    description: str | None = None


class CommandComponentSpec(Spec):
    """A command component: a command run in an environment over its code folder."""

    schema_: str | None = Field(default=None, alias="$schema")
    type: Annotated[Literal["command"], LowerCase] = "command"
    name: AssetName | None = None
    version: ScalarString | None = None
    display_name: str | None = None
    description: str | None = None
    tags: Tags = {}
    is_deterministic: StrictBool = True
    """Azure reuses a deterministic step's earlier result for equal inputs (az ml's default)."""
    inputs: dict[IoName, ComponentInput] = {}
    outputs: dict[IoName, ComponentOutput] = {}
    code: str | None = None
    """Local folder (relative to the component's file), or an `azureml:` code reference."""
    environment: EnvironmentRef
    command: Annotated[str, StringConstraints(min_length=1)]
    _from_file: bool = PrivateAttr(default=False)

    @property
    def source(self) -> str:
        """How azure-ai-ml marks it (`_source`), and the step that runs it: read from its
        own file `YAML.COMPONENT`, written inline in the pipeline's file `YAML.JOB`."""
        return "YAML.COMPONENT" if self._from_file else "YAML.JOB"

    @field_validator("code")
    @classmethod
    def _code_folder(cls, value: str | None, info: ValidationInfo) -> str | None:
        from .assets import resolve_local_path

        return None if value is None else resolve_local_path(value, info, "folder")

    @model_validator(mode="after")
    def _bindings(self) -> CommandComponentSpec:
        for expression in _BINDING.findall(self.command):
            match = _OWN.match(expression)
            known = self.inputs if match and match["io"] == "inputs" else self.outputs
            if match is None or match["name"] not in known:
                raise ValueError(
                    f"command: ${{{{{expression}}}}} names no input or output of this "
                    f"component (inputs: {sorted(self.inputs) or 'none'}, "
                    f"outputs: {sorted(self.outputs) or 'none'})"
                )
        return self


class StepData(Spec):
    """A step input or output given as data (`path`, `type`, `mode`)."""

    type: Annotated[DataType, LowerCase] | None = None
    path: str | None = None
    mode: (
        Annotated[
            Literal["ro_mount", "download", "direct", "rw_mount", "upload", "eval_mount"],
            LowerCase,
        ]
        | None
    ) = None


StepValue = Literal_ | StepData | None


class PipelineStep(Spec):
    """A step (`jobs.<name>`) of a pipeline component."""

    type: Annotated[Literal["command"], LowerCase]
    component: CommandComponentSpec | ComponentReference
    display_name: str | None = None
    compute: str | None = None
    """Default: the deployment's `settings.default_compute`."""
    inputs: dict[IoName, StepValue] = {}
    outputs: dict[IoName, StepValue] = {}

    @model_validator(mode="before")
    @classmethod
    def _kind(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("type"), str):
            kind = data["type"].lower()
            if kind != "command":
                raise ValueError(
                    f"type {data['type']!r}: amlkit deploys pipelines of `command` steps only "
                    "(parallel, sweep, nested pipeline and other steps are not supported)"
                )
        return data

    @field_validator("component", mode="before")
    @classmethod
    def _component_file(cls, value: Any, info: ValidationInfo) -> Any:
        """A local file is read here, relative to the file naming it; a registered
        reference stays a string; an inline mapping is validated in place."""
        if not isinstance(value, str) or re.match(ASSET_REFERENCE_PATTERN, value):
            return value
        component = load_component_file(value, info, CommandComponentSpec)
        component._from_file = True
        return component

    @property
    def local(self) -> CommandComponentSpec | None:
        return self.component if isinstance(self.component, CommandComponentSpec) else None


class PipelineComponentSpec(Spec):
    """A pipeline component: steps wired to each other and to its inputs and outputs."""

    schema_: str | None = Field(default=None, alias="$schema")
    type: Annotated[Literal["pipeline"], LowerCase] = "pipeline"
    name: AssetName
    """Registered under this name, as `az ml` registers it."""
    version: ScalarString | None = None
    """Default: a hash of the component and its code, so a change registers anew."""
    display_name: str | None = None
    description: str | None = None
    tags: Tags = {}
    inputs: dict[IoName, ComponentInput] = {}
    outputs: dict[IoName, ComponentOutput] = {}
    jobs: Annotated[dict[StepName, PipelineStep], Field(min_length=1)]

    @model_validator(mode="after")
    def _bindings(self) -> PipelineComponentSpec:
        for step_name, step in self.jobs.items():
            local = step.local
            for direction, values, declared in (
                ("inputs", step.inputs, local.inputs if local else None),
                ("outputs", step.outputs, local.outputs if local else None),
            ):
                for name, value in values.items():
                    where = f"jobs.{step_name}.{direction}.{name}"
                    if declared is not None and name not in declared:
                        raise ValueError(
                            f"{where}: the step's component has no {direction[:-1]} {name!r} "
                            f"({direction}: {sorted(declared) or 'none'})"
                        )
                    for expression in _BINDING.findall(value if isinstance(value, str) else ""):
                        self._check_binding(where, expression, step_name)
            if local is not None:
                missing = [
                    n
                    for n, i in local.inputs.items()
                    if n not in step.inputs and i.default is None and not i.optional
                ]
                if missing:
                    raise ValueError(
                        f"jobs.{step_name}.inputs: the component needs {missing} "
                        "(no default and not optional)"
                    )
        return self

    def _check_binding(self, where: str, expression: str, step_name: str) -> None:
        match = _PARENT.match(expression)
        if match is None:
            raise ValueError(
                f"{where}: ${{{{{expression}}}}} is not a binding amlkit knows "
                "(`parent.inputs.<name>`, `parent.outputs.<name>`, "
                "`parent.jobs.<step>.outputs.<name>`)"
            )
        if match["io"] is not None:
            known = self.inputs if match["io"] == "inputs" else self.outputs
            if match["name"] not in known:
                raise ValueError(
                    f"{where}: ${{{{{expression}}}}}: the pipeline has no {match['io'][:-1]} "
                    f"{match['name']!r} ({match['io']}: {sorted(known) or 'none'})"
                )
            return
        source = self.jobs.get(match["step"])
        if source is None or match["step"] == step_name:
            raise ValueError(
                f"{where}: ${{{{{expression}}}}} names no other step (steps: {sorted(self.jobs)})"
            )
        if source.local is not None and match["output"] not in source.local.outputs:
            raise ValueError(
                f"{where}: ${{{{{expression}}}}}: step {match['step']!r} has no output "
                f"{match['output']!r} (outputs: {sorted(source.local.outputs) or 'none'})"
            )

    def step_order(self) -> list[str]:
        """The steps in an order that runs each after the steps it reads from."""
        needs = {
            name: {
                m["step"]
                for value in step.inputs.values()
                if isinstance(value, str)
                for e in _BINDING.findall(value)
                if (m := _PARENT.match(e)) is not None and m["step"] is not None
            }
            for name, step in self.jobs.items()
        }
        order: list[str] = []
        while len(order) < len(needs):
            ready = [n for n in needs if n not in order and needs[n] <= set(order)]
            if not ready:
                cycle = sorted(n for n in needs if n not in order)
                raise ValueError(f"jobs: steps {cycle} read each other's outputs in a cycle")
            order.extend(sorted(ready))
        return order

    @model_validator(mode="after")
    def _acyclic(self) -> PipelineComponentSpec:
        self.step_order()
        return self


def load_component_file(value: str, info: ValidationInfo, model: type[T]) -> T:
    """Read and validate a component file named by `value` (relative to the loader's
    `base_dir`, inside its `root`), its own paths relative to its own folder. A problem
    in it is one line naming that file and field."""
    context = dict(info.context or {})
    base = Path(context.get("base_dir", "."))
    root = context.get("root")
    path = relative_path(value, base, Path(root) if root else None)
    if not path.is_file():
        raise ValueError(
            f"component file {value!r} does not exist (looked for {path}; paths are "
            "relative to the file that names them)"
        )
    try:
        doc = load_yaml(path)
    except ConfigError as error:
        raise ValueError("; ".join(str(p) for p in error.problems)) from None
    if not isinstance(doc, dict):
        raise ValueError(f"{display_path(path)}: must be a YAML mapping of component fields")
    try:
        return model.model_validate(doc, context={**context, "base_dir": path.parent})
    except ValidationError as exc:
        problems = problems_from_validation(exc, doc, root=Source(path), model=model)
        raise ValueError("; ".join(str(p) for p in problems)) from None
