"""A pipeline-component batch deployment invoked on this machine over local files.

Runs the component's steps here, in the order their bindings give, where they can
run: command steps whose component is a local file, whose `code` is a local folder
and whose `command` runs `python`. The command runs with this machine's Python
interpreter in the step's code folder; the step's environment image is not built
(there is no container engine in local mode), so what the image adds must be
installed here. `--input` binds the pipeline's one data input (`uri_folder` or
`uri_file`); other inputs take their defaults. Pipeline outputs are written to
`<output>/<name>`, outputs between steps to `<output>/steps/<step>/<name>`.

A deployment that cannot run here is refused with one line naming what: a
registered component or code, a deployment created from a job, a command that is
not `python ...`, an input without a local value.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from amlkit.specs.pipeline_batch_deployment import PipelineBatchDeploymentSpec
from amlkit.specs.pipeline_component import (
    CommandComponentSpec,
    PipelineComponentSpec,
    PipelineStep,
    StepData,
)

from .layout import LocalModeError

_DATA = {"uri_folder", "uri_file"}
_BINDING = re.compile(r"\$\{\{\s*([^}]*?)\s*\}\}")
_OPTIONAL = re.compile(r"\$\[\[(.*?)\]\]", re.DOTALL)
_PYTHON = {"python", "python3"}


@dataclass(frozen=True)
class LocalStep:
    """One step, ready to run: its command line, folder and the steps it reads from."""

    name: str
    argv: tuple[str, ...]
    cwd: Path
    needs: frozenset[str]
    outputs: tuple[Path, ...]
    """Created before the step runs, as Azure mounts them."""


def pipeline_steps(
    endpoint: str, spec: PipelineBatchDeploymentSpec, input_path: Path, output: Path
) -> list[LocalStep]:
    """The deployment's steps as local commands, or LocalModeError with the reason."""
    where = f"batch deployment {endpoint}/{spec.name} cannot run locally"
    component = spec.local_component
    if spec.job_definition is not None:
        raise LocalModeError(
            f"{where}: it runs pipeline job {spec.job_definition}, whose graph is in the "
            "workspace, not on this machine"
        )
    if component is None:
        raise LocalModeError(
            f"{where}: its component {spec.component} is registered in the workspace; "
            "local runs need the component's file"
        )
    try:
        values = _pipeline_inputs(component, input_path)
        outputs = {name: output / name for name in component.outputs}
        steps: list[LocalStep] = []
        produced: dict[tuple[str, str], Path] = {}
        for name in component.step_order():
            step = component.jobs[name]
            steps.append(_step(name, step, values, outputs, produced, output))
    except ValueError as error:
        raise LocalModeError(f"{where}: {error}") from None
    return steps


def _pipeline_inputs(component: PipelineComponentSpec, input_path: Path) -> dict[str, str]:
    data = [n for n, i in component.inputs.items() if i.type in _DATA]
    if len(data) != 1:
        raise ValueError(
            f"the pipeline has {len(data)} data inputs ({', '.join(data) or 'none'}); "
            "--input binds exactly one"
        )
    values = {data[0]: str(input_path)}
    for name, given in component.inputs.items():
        if name in values:
            continue
        if given.default is not None:
            values[name] = str(given.default)
        elif not given.optional:
            raise ValueError(f"pipeline input {name!r} has no default to run with")
    return values


def _step(
    name: str,
    step: PipelineStep,
    pipeline_inputs: Mapping[str, str],
    pipeline_outputs: Mapping[str, Path],
    produced: dict[tuple[str, str], Path],
    output: Path,
) -> LocalStep:
    local = step.local
    if local is None:
        raise ValueError(f"step {name!r} runs registered component {step.component}")
    if local.code is None or not Path(local.code).is_absolute():
        raise ValueError(f"step {name!r}: its code {local.code!r} is not a local folder")
    needs: set[str] = set()

    def resolve(value: object) -> str | None:
        if value is None:
            return None
        if isinstance(value, StepData):
            if value.path is None or value.path.startswith("azureml:") or "://" in value.path:
                raise ValueError(f"step {name!r}: input {value.path!r} is not a local path")
            return value.path
        text = str(value).lower() if isinstance(value, bool) else str(value)
        match = _BINDING.fullmatch(text.strip())
        if match is None:
            return text
        parts = match[1].split(".")
        if parts[:2] == ["parent", "inputs"]:
            return pipeline_inputs.get(parts[2])
        if parts[:2] == ["parent", "jobs"]:
            needs.add(parts[2])
            return str(produced[(parts[2], parts[4])])
        raise ValueError(f"step {name!r}: binding {text!r} has no local value")

    inputs: dict[str, str] = {}
    for key, declared in local.inputs.items():
        value = resolve(step.inputs.get(key))
        if value is None and declared.default is not None:
            value = str(declared.default)
        if value is None and not declared.optional:
            raise ValueError(f"step {name!r}: input {key!r} has no value to run with")
        if value is not None:
            inputs[key] = value
    outputs: dict[str, str] = {}
    for key in local.outputs:
        bound = step.outputs.get(key)
        match = _BINDING.fullmatch(bound.strip()) if isinstance(bound, str) else None
        parts = match[1].split(".") if match else []
        if parts[:2] == ["parent", "outputs"]:
            folder = pipeline_outputs[parts[2]]
        else:
            folder = output / "steps" / name / key
        produced[(name, key)] = folder
        outputs[key] = str(folder)
    argv = _command(name, local, inputs, outputs)
    folders = tuple(Path(f) for f in outputs.values())
    return LocalStep(name, argv, Path(local.code), frozenset(needs), folders)


def _command(
    name: str, local: CommandComponentSpec, inputs: Mapping[str, str], outputs: Mapping[str, str]
) -> tuple[str, ...]:
    """The command line: optional `$[[...]]` parts kept when their inputs have values,
    `${{inputs.x}}`/`${{outputs.y}}` replaced token by token (a path with spaces
    stays one argument), and `python` this machine's interpreter."""

    def keep(block: re.Match[str]) -> str:
        used = [e.split(".", 1)[1] for e in _BINDING.findall(block[1]) if e.startswith("inputs.")]
        return block[1] if all(u in inputs for u in used) else ""

    text = _OPTIONAL.sub(keep, local.command)
    try:
        tokens = shlex.split(text)
    except ValueError as error:
        raise ValueError(f"step {name!r}: its command cannot be split ({error})") from None
    if not tokens or tokens[0] not in _PYTHON:
        first = tokens[0] if tokens else ""
        raise ValueError(
            f"step {name!r}: its command runs {first!r}, not python; local runs take "
            "`python <script> ...` commands"
        )

    def value(match: re.Match[str]) -> str:
        io, _, key = match[1].partition(".")
        return (inputs if io == "inputs" else outputs)[key]

    return (sys.executable, *(_BINDING.sub(value, token) for token in tokens[1:]))


def run_pipeline_job(
    steps: list[LocalStep],
    *,
    continue_on_step_failure: bool,
    report: Callable[[str], None],
) -> int:
    """Run the steps in order; 0 when every step ran, 1 otherwise. A failed step stops
    the job, or with `continue_on_step_failure` only the steps that read from it."""
    failed: set[str] = set()
    for step in steps:
        if step.needs & failed:
            report(f"step {step.name}: skipped (reads from a failed step)")
            failed.add(step.name)
            continue
        report(f"step {step.name}: {shlex.join(step.argv[1:])}")
        for folder in step.outputs:
            folder.mkdir(parents=True, exist_ok=True)
        code = subprocess.call(list(step.argv), cwd=step.cwd, stdin=subprocess.DEVNULL)
        if code != 0:
            report(f"step {step.name}: failed (exit code {code})")
            failed.add(step.name)
            if not continue_on_step_failure:
                return 1
    return 1 if failed else 0
