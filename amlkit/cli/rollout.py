"""`amlkit rollout`: move an online endpoint's live traffic to a new deployment by its
`rollout:` section, gate by gate, and put it back when a gate fails; `status`, `resume`
and `abort` for a rollout an interrupted job left behind.

Where it runs: Azure by default (amlkit.rollout.azure), `--local URL` (an endpoint
served by `amlkit local serve`), or `--recorded FILE` (a dry run over recorded readings).
Exit codes: 0 promoted; 1 rolled back, held or aborted (a failed gate, smoke, the
timeout or the target failing mid-walk), or left running because the rollback write
failed (the message says to run `abort`); 2 bad input (config, flags, state, a recorded
file, a target that cannot be reached before anything is written).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer
from pydantic import ValidationError

from amlkit.specs import ConfigError, OnlineEndpointSpec, StackSpec

from .common import (
    EXIT_CHECK_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    ProjectOption,
    err,
    fail,
    fail_config,
    out,
)
from .output import check_output, write_atomically

if TYPE_CHECKING:
    from amlkit.rollout.engine import RollbackFailed
    from amlkit.rollout.sources import Clock, Target
    from amlkit.rollout.state import RolloutResult

app = typer.Typer(
    help="Move an online endpoint's live traffic to a new deployment step by step, gated "
    "on its metrics, and roll back when a gate fails.",
    rich_markup_mode="rich",
)

EndpointOption = Annotated[
    str | None, typer.Option("--endpoint", "-e", help="The online endpoint to roll out.")
]
StackOpt = Annotated[
    str | None,
    typer.Option("--stack", "-s", help="Stack name: reads [bold]stacks/Pulumi.<stack>.yaml[/]."),
]
LocalOption = Annotated[
    str | None,
    typer.Option(
        "--local",
        help="Roll out on an endpoint served by [bold]amlkit local serve[/]: its front URL "
        "(http://127.0.0.1:8080).",
    ),
]
RecordedOption = Annotated[
    Path | None,
    typer.Option("--recorded", help="A dry run over a recorded file of splits and readings."),
]
StateOption = Annotated[
    Path | None,
    typer.Option(
        "--state",
        help="The rollout's state file. Default: .amlkit/rollout/<stack>/<endpoint>.json.",
    ),
]
ReportOption = Annotated[
    Path | None,
    typer.Option(
        "--report",
        help="Write the result as JSON here, and a Markdown summary beside it (.md).",
    ),
]
SummaryOption = Annotated[
    Path | None,
    typer.Option(
        "--summary", help="Write the Markdown summary here (default: the report's path, .md)."
    ),
]
KeepStackOption = Annotated[
    bool,
    typer.Option(
        "--no-update-stack",
        help="Leave the stack config's traffic as it is (default: rewrite it to the live split).",
    ),
]


@app.callback(invoke_without_command=True)
def rollout(
    ctx: typer.Context,
    stack: StackOpt = None,
    endpoint: EndpointOption = None,
    local: LocalOption = None,
    recorded: RecordedOption = None,
    candidate: Annotated[str | None, typer.Option(help="Override rollout.candidate.")] = None,
    baseline: Annotated[str | None, typer.Option(help="Override rollout.baseline.")] = None,
    steps: Annotated[
        str | None,
        typer.Option(help="Override the strategy with canary steps: [bold]10,50,100[/]."),
    ] = None,
    bake: Annotated[str | None, typer.Option(help="Override rollout.bake (PT10M).")] = None,
    initial_delay: Annotated[
        str | None, typer.Option(help="Override rollout.initial_delay.")
    ] = None,
    metrics_lag: Annotated[str | None, typer.Option(help="Override rollout.metrics_lag.")] = None,
    min_requests: Annotated[int | None, typer.Option(help="Override rollout.min_requests.")] = None,
    on_inconclusive: Annotated[
        str | None, typer.Option(help="Override rollout.on_inconclusive (extend|hold|fail).")
    ] = None,
    timeout: Annotated[str | None, typer.Option(help="Override rollout.timeout.")] = None,
    report: ReportOption = None,
    summary: SummaryOption = None,
    state: StateOption = None,
    no_update_stack: KeepStackOption = False,
    project_dir: ProjectOption = None,
) -> None:
    """Roll out an endpoint by its [bold]rollout:[/] section: initial delay, smoke, shadow,
    then each traffic step baked and gated; on a failed gate or the timeout the
    pre-rollout split is put back. Prints each window's readings against the gates, and
    rewrites the stack config's [bold]traffic[/] and [bold]mirror_traffic[/] to the live
    split at the end. Exit 0 promoted, 1 rolled back, 2 bad input.
    """
    if ctx.invoked_subcommand is not None:
        return
    if stack is None or endpoint is None:
        raise fail("amlkit rollout needs --stack and --endpoint (or: status, resume, abort)")
    if local is not None and recorded is not None:
        raise fail("--local and --recorded: give one (neither: Azure)")
    from amlkit.rollout.engine import run_rollout
    from amlkit.specs.project import find_project

    try:
        project = find_project(project_dir)
        spec = project.load_spec(stack)
    except ConfigError as error:
        raise fail_config(error) from None
    index, endpoint_spec = _endpoint(spec, endpoint)
    overrides = {
        "candidate": candidate,
        "baseline": baseline,
        "strategy": {"type": "canary", "steps": _steps(steps)} if steps else None,
        "bake": bake,
        "initial_delay": initial_delay,
        "metrics_lag": metrics_lag,
        "min_requests": min_requests,
        "on_inconclusive": on_inconclusive,
        "timeout": timeout,
    }
    rollout_spec = _with_overrides(
        endpoint_spec, {k: v for k, v in overrides.items() if v is not None}
    )
    paths = [p for p in (report, summary) if p is not None]
    inputs = project.inputs(stack, spec)
    for path in paths:
        check_output(path, "--report" if path is report else "--summary", inputs)
    state_path = state or _default_state(project.root, stack, endpoint)
    target = _target(spec, endpoint, local, recorded, rollout_spec.metrics_lag)
    clock = _clock(recorded)
    _walk(
        lambda: run_rollout(rollout_spec, target, clock, state_path, _progress, endpoint=endpoint),
        _Finish(state_path, report, summary, stack, endpoint, local, state),
        project.stacks_dir,
        index,
        recorded is None and not no_update_stack,
    )


@app.command()
def status(
    stack: StackOpt = None,
    endpoint: EndpointOption = None,
    state: StateOption = None,
    project_dir: ProjectOption = None,
) -> None:
    """Show the rollout recorded in the state file: its phase, each window read, the split.
    Exit 0 promoted or running, 1 ended otherwise, 2 no state."""
    from amlkit.rollout.report import steps_table
    from amlkit.rollout.sources import RolloutError
    from amlkit.rollout.state import read_state

    try:
        result = read_state(_state_path(state, stack, endpoint, project_dir))
    except RolloutError as error:
        raise fail(str(error)) from None
    out.print(steps_table(result))
    raise typer.Exit(EXIT_OK if result.status in ("promoted", "running") else EXIT_CHECK_FAILED)


def _resume_or_abort_command(what: Literal["resume", "abort"], doc: str) -> Callable[..., None]:
    """`resume` and `abort` take the same options; one signature serves both (`doc`:
    the command's help)."""

    def command(
        stack: StackOpt = None,
        endpoint: EndpointOption = None,
        local: LocalOption = None,
        recorded: RecordedOption = None,
        report: ReportOption = None,
        summary: SummaryOption = None,
        state: StateOption = None,
        no_update_stack: KeepStackOption = False,
        project_dir: ProjectOption = None,
    ) -> None:
        _resume_or_abort(
            what,
            stack,
            endpoint,
            local,
            recorded,
            report,
            summary,
            state,
            no_update_stack,
            project_dir,
        )

    command.__doc__ = doc
    return command


resume = app.command("resume")(
    _resume_or_abort_command(
        "resume",
        """Go on with an interrupted rollout from the phase it was in (that phase starts again:
    its split is written again and baked afresh).""",
    )
)
abort = app.command("abort")(
    _resume_or_abort_command(
        "abort",
        "Put the pre-rollout split back (mirror to the candidate off) and end the rollout.",
    )
)


def _resume_or_abort(
    what: Literal["resume", "abort"],
    stack: str | None,
    endpoint: str | None,
    local: str | None,
    recorded: Path | None,
    report: Path | None,
    summary: Path | None,
    state: Path | None,
    no_update_stack: bool,
    project_dir: Path | None,
) -> None:
    if stack is None or endpoint is None:
        raise fail(f"amlkit rollout {what} needs --stack and --endpoint")
    from amlkit.rollout.engine import abort_rollout, resume_rollout
    from amlkit.rollout.sources import RolloutError
    from amlkit.rollout.state import read_state
    from amlkit.specs.project import find_project

    try:
        project = find_project(project_dir)
        spec = project.load_spec(stack)
    except ConfigError as error:
        raise fail_config(error) from None
    index, _ = _endpoint(spec, endpoint)
    state_path = state or _default_state(project.root, stack, endpoint)
    try:
        read_state(state_path)  # a missing or damaged state is bad input before connecting
    except RolloutError as error:
        raise fail(str(error)) from None
    target = _target(spec, endpoint, local, recorded, None)
    go = resume_rollout if what == "resume" else abort_rollout
    clock = _clock(recorded)
    _walk(
        lambda: go(state_path, target, clock, _progress),
        _Finish(state_path, report, summary, stack, endpoint, local, state),
        project.stacks_dir,
        index,
        recorded is None and not no_update_stack,
    )


# -- helpers ---------------------------------------------------------------------------


def _state_path(
    state: Path | None, stack: str | None, endpoint: str | None, project_dir: Path | None
) -> Path:
    if state is not None:
        return state
    if stack is None or endpoint is None:
        raise fail("give --stack and --endpoint, or --state")
    from amlkit.specs.project import find_project

    try:
        root = find_project(project_dir).root
    except ConfigError as error:
        raise fail_config(error) from None
    return _default_state(root, stack, endpoint)


def _default_state(root: Path, stack: str, endpoint: str) -> Path:
    return root / ".amlkit" / "rollout" / stack / f"{endpoint}.json"


def _endpoint(spec: StackSpec, name: str) -> tuple[int, OnlineEndpointSpec]:
    for index, endpoint in enumerate(spec.online_endpoints):
        if endpoint.name == name:
            return index, endpoint
    known = ", ".join(e.name for e in spec.online_endpoints) or "none"
    raise fail(f"--endpoint {name}: not an online endpoint of this stack ({known})")


def _steps(text: str) -> list[int]:
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise fail(
            f"--steps {text!r}: give whole percents separated by commas, e.g. 10,50,100"
        ) from None


def _with_overrides(endpoint: OnlineEndpointSpec, overrides: dict[str, Any]) -> Any:
    from amlkit.specs.rollout import RolloutSpec

    if endpoint.rollout is None:
        raise fail(
            f"endpoint {endpoint.name} has no `rollout:` section; add one to the stack config "
            "(README: Safe rollout)"
        )
    data = endpoint.rollout.model_dump(mode="json", by_alias=True, exclude_none=True)
    data.update(overrides)
    try:
        spec = RolloutSpec.model_validate(data)
        names = [d.name for d in endpoint.deployments]
        for role in ("candidate", "baseline"):
            value = getattr(spec, role)
            if value is not None and value not in names:
                raise ValueError(
                    f"{role} {value!r} is not a deployment of {endpoint.name} ({', '.join(names)})"
                )
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg'].removeprefix('Value error, ')}"
            for e in error.errors()
        )
        raise fail(f"rollout of {endpoint.name}: {problems}") from None
    except ValueError as error:
        raise fail(f"rollout of {endpoint.name}: {error}") from None
    return spec


def _target(
    spec: StackSpec,
    endpoint: str,
    local: str | None,
    recorded: Path | None,
    lag: timedelta | None,
) -> Target:
    """Where the rollout runs: `--local`, `--recorded` or Azure (each imported here, so
    `amlkit --help` does not load the Azure SDK). A target that cannot be reached, or a
    bad recorded file, is bad input (exit 2)."""
    from amlkit.rollout.sources import RolloutError

    try:
        if local is not None:
            from amlkit.rollout.local import connect as connect_local

            return connect_local(local)
        if recorded is not None:
            from amlkit.rollout.recorded import connect as connect_recorded

            return connect_recorded(recorded)
        from amlkit.rollout.azure import connect as connect_azure

        if lag is None:
            return connect_azure(spec, endpoint)
        return connect_azure(spec, endpoint, metrics_lag=lag)
    except ConfigError as error:
        raise fail_config(error) from None
    except RolloutError as error:
        raise fail(str(error)) from None


@dataclass(frozen=True)
class _Finish:
    """Where a walk's end is reported: the state file, `--report`/`--summary`, and the
    flags the command to resume or abort it repeats."""

    state_path: Path
    report: Path | None
    summary: Path | None
    stack: str
    endpoint: str
    local: str | None
    state: Path | None


def _walk(
    go: Callable[[], RolloutResult],
    finish: _Finish,
    stacks_dir: Path,
    index: int,
    update_stack: bool,
) -> None:
    """Run the engine (`go`: run, resume or abort) and end the command: a split that could
    not be written back -> the state is left running (exit 1); the target failing before
    anything was written -> exit 2; Ctrl-C -> the split is left as it is; otherwise the
    steps table, the reports and the stack config rewritten to the live split."""
    from amlkit.rollout.engine import RollbackFailed
    from amlkit.rollout.sources import RolloutError

    try:
        result = go()
    except RollbackFailed as error:
        raise _left_running(error, finish) from None
    except RolloutError as error:
        raise fail(str(error)) from None
    except KeyboardInterrupt:
        raise _interrupted(finish.stack, finish.endpoint) from None
    _finish(result, finish.report, finish.summary, stacks_dir, finish.stack, index, update_stack)


def _left_running(error: RollbackFailed, finish: _Finish) -> typer.Exit:
    """The rollout failed and the split could not be written back: the state stays
    `running`; say which command puts it back and what it writes (exit 1)."""
    from amlkit.rollout.state import read_state, split_text

    flags = f"--stack {finish.stack} --endpoint {finish.endpoint}"
    flags += f" --local {finish.local}" if finish.local is not None else ""
    flags += f" --state {finish.state}" if finish.state is not None else ""
    result = read_state(finish.state_path)
    out.print(_steps_table(result))
    _write_reports(result, finish.report, finish.summary)
    err.print(
        f"{str(error).rstrip('.')}. The rollout is left running and the split may still be moved: once the "
        f"endpoint answers again, run [bold]amlkit rollout abort {flags}[/] to write the "
        f"pre-rollout split back ({split_text(error.restore)}).",
        highlight=False,
        soft_wrap=True,
    )
    return typer.Exit(EXIT_CHECK_FAILED)


def _interrupted(stack: str, endpoint: str) -> typer.Exit:
    """Ctrl-C mid-rollout: the split stays as it is and the state says so."""
    where = f"--stack {stack} --endpoint {endpoint}"
    err.print(
        f"Interrupted; the split is left as it is. Go on with [bold]amlkit rollout resume "
        f"{where}[/] or put it back with [bold]amlkit rollout abort {where}[/].",
        highlight=False,
        soft_wrap=True,
    )
    return typer.Exit(EXIT_INTERRUPTED)


def _clock(recorded: Path | None = None) -> Clock:
    """The wall clock; for a dry run (`--recorded`) a clock that moves when slept on,
    so bakes and the metrics lag take no real time."""
    if recorded is not None:
        from amlkit.rollout.recorded import DryRunClock

        return DryRunClock()
    from amlkit.rollout.sources import WallClock

    return WallClock()


def _progress(event: Any) -> None:
    from rich.markup import escape

    style = {"write": "cyan", "step": "bold", "done": "bold", "phase": "dim"}[event.kind]
    err.print(f"[{style}]{escape(event.message)}[/]", highlight=False, soft_wrap=True)


def _finish(
    result: Any,
    report: Path | None,
    summary: Path | None,
    stacks_dir: Path,
    stack: str,
    index: int,
    update_stack: bool,
) -> None:
    from amlkit.lifecycle.stack_yaml import set_endpoint_split
    from amlkit.specs.stack_config import stack_file

    out.print(_steps_table(result))
    _write_reports(result, report, summary)
    if update_stack and result.final_split is not None:
        path = stack_file(stacks_dir, stack)
        live = result.final_split
        try:
            changed = set_endpoint_split(path, index, dict(live.traffic), dict(live.mirror))
        except (OSError, ValueError) as error:
            raise fail(f"{path}: cannot write the live split back ({error})") from None
        if changed:
            err.print(f"Wrote the live split into {path}: the next pulumi up changes nothing.")
    raise typer.Exit(EXIT_OK if result.status == "promoted" else EXIT_CHECK_FAILED)


def _steps_table(result: RolloutResult) -> Any:
    from amlkit.rollout.report import steps_table

    return steps_table(result)


def _write_reports(result: RolloutResult, report: Path | None, summary: Path | None) -> None:
    from amlkit.rollout.report import markdown

    if report is not None:
        write_atomically(report, json.dumps(result.to_json(), indent=2) + "\n", "--report")
        summary = summary or report.with_suffix(".md")
    if summary is not None:
        write_atomically(summary, markdown(result), "--summary")
