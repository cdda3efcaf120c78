"""`amlkit teardown --stack S`: a test environment destroyed and removed, through
Pulumi's Automation API, refusing what it must not touch.

In order, for one stack:
1. Ephemeral or refused: the stack file's `environment.ephemeral`, else the backend's
   `amlkit:ephemeral` tag (a pull request's file lives only in its CI run). A lasting
   stack is refused unless `allow_permanent`.
2. Gone already: a stack the backend does not know is reported `already gone` (exit 0),
   and an ephemeral stack's leftover file is removed, as `pulumi stack rm` would have.
3. Protected resources refuse the teardown unless `ignore_protect`; then they are
   unprotected with `pulumi state unprotect --all` (Pulumi's own command; `pulumi
   destroy` has no flag to override protection) and destroyed. Never `stack rm --force`,
   which would drop the state and leave the resources running and billing.
4. Traffic to zero, then (with `purge`) what Azure would keep, released
   (`azure_cleanup.py`).
5. `pulumi destroy`, then `pulumi stack rm` (which refuses while resources remain).
Each Pulumi step waits and retries while another process holds the stack's lock
(`ConcurrentUpdateError`), up to `lock_attempts` times, `lock_wait_s` apart.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from pulumi.automation import (
    CommandError,
    ConcurrentUpdateError,
    LocalWorkspace,
    Stack,
    StackNotFoundError,
)
from tenacity import (
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_fixed,
)

from amlkit.components.dynamic.arm_client import ArmError
from amlkit.specs.errors import ConfigError
from amlkit.specs.project import Project
from amlkit.specs.stack_config import stack_file

from .azure_cleanup import Azure, purge, zero_traffic
from .pr_environment import TAG_EPHEMERAL
from .state import StateResource, protected, resources

T = TypeVar("T")

DESTROYED = "destroyed"
GONE = "already gone"
REFUSED = "refused"
FAILED = "failed"
WOULD = "would destroy"


@dataclass(frozen=True)
class TeardownOptions:
    allow_permanent: bool = False
    """Tear down a stack that is not ephemeral (default: refused)."""
    ignore_protect: bool = False
    """Unprotect protected resources and destroy them (default: refused)."""
    purge: bool = False
    """Release the names Azure keeps after deletion, where it allows (default: off)."""
    dry_run: bool = False
    """Check and report; change nothing."""
    lock_attempts: int = 10
    """Tries of each Pulumi step while the stack is locked; 10 x 30 s covers a typical
    `pulumi up` finishing (default)."""
    lock_wait_s: float = 30.0
    azure: Azure = field(default_factory=Azure)


@dataclass
class Outcome:
    stack: str
    status: str
    detail: str = ""
    steps: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status in (DESTROYED, GONE, WOULD)

    def line(self) -> str:
        return f"{self.stack}: {self.status}" + (f" ({self.detail})" if self.detail else "")


def teardown(ws: LocalWorkspace, project: Project, stack: str, options: TeardownOptions) -> Outcome:
    """Tear one stack down; never raises for a refusal or a failed step (see Outcome)."""
    try:
        return _teardown(ws, project, stack, options)
    except ConcurrentUpdateError:
        return Outcome(
            stack,
            FAILED,
            f"the stack stayed locked through {options.lock_attempts} tries "
            f"{options.lock_wait_s:g} s apart; another update is running",
        )
    except CommandError as error:
        return Outcome(stack, FAILED, _pulumi_error(error))
    except ArmError as error:
        return Outcome(stack, FAILED, f"Azure: {error}")


def _teardown(
    ws: LocalWorkspace, project: Project, stack: str, options: TeardownOptions
) -> Outcome:
    file = stack_file(project.stacks_dir, stack)
    file_says = _file_ephemeral(project, stack) if file.exists() else None
    retry = _retrying(options)
    try:
        handle = retry(lambda: Stack.select(stack, ws))
    except StackNotFoundError:
        if file_says is False and not options.allow_permanent:
            return _refuse_permanent(stack)
        if file_says and not options.dry_run:
            file.unlink()
            return Outcome(stack, GONE, f"not in the backend; removed {file.name}")
        return Outcome(stack, GONE, "not in the backend")
    ephemeral = file_says if file_says is not None else _tagged_ephemeral(ws, stack)
    if not ephemeral and not options.allow_permanent:
        return _refuse_permanent(stack)
    state = resources(retry(handle.export_stack).deployment)
    guarded = protected(state)
    if guarded and not options.ignore_protect:
        return Outcome(
            stack,
            REFUSED,
            f"{len(guarded)} protected resources ({_names(guarded)}); pass --ignore-protect "
            "to unprotect and destroy them",
        )
    if options.dry_run:
        return Outcome(stack, WOULD, f"{len(state)} resources, {len(guarded)} protected")
    outcome = Outcome(stack, DESTROYED)
    if guarded:
        retry(lambda: _unprotect_all(ws, stack))
        outcome.steps.append(f"unprotected {len(guarded)} resources (pulumi state unprotect --all)")
    outcome.steps += zero_traffic(state, options.azure)
    if options.purge:
        outcome.steps += purge(state, options.azure)
    retry(lambda: handle.destroy(on_output=outcome.steps.append))
    retry(lambda: ws.remove_stack(stack))
    outcome.detail = f"{len(state)} resources destroyed, stack removed"
    return outcome


def _retrying(options: TeardownOptions) -> Callable[[Callable[[], T]], T]:
    def run(step: Callable[[], T]) -> T:
        for attempt in Retrying(
            retry=retry_if_exception_type(ConcurrentUpdateError),
            stop=stop_after_attempt(max(options.lock_attempts, 1)),
            wait=wait_fixed(options.lock_wait_s),
            reraise=True,
        ):
            with attempt:
                return step()
        raise AssertionError("unreachable: tenacity reraises the last error")

    return run


def _unprotect_all(ws: LocalWorkspace, stack: str) -> None:
    ws.cli_api.state_unprotect(
        all=True, stack=stack, cwd=ws.work_dir, additional_env=dict(ws.env_vars)
    )


def _file_ephemeral(project: Project, stack: str) -> bool:
    try:
        return project.load_spec(stack).environment.ephemeral is not None
    except ConfigError:
        return False  # unreadable: never taken for a test environment


def _tagged_ephemeral(ws: LocalWorkspace, stack: str) -> bool:
    return ws.list_tags(stack).get(TAG_EPHEMERAL) == "true"


def _refuse_permanent(stack: str) -> Outcome:
    return Outcome(
        stack,
        REFUSED,
        "not a test environment (no environment.ephemeral in its file, no "
        f"{TAG_EPHEMERAL} tag); pass --allow-permanent to tear down a lasting stack",
    )


def _names(state: list[StateResource]) -> str:
    names = [r.name for r in state]
    return ", ".join(names[:4]) + (f" and {len(names) - 4} more" if len(names) > 4 else "")


def _pulumi_error(error: CommandError) -> str:
    """The CLI's own `error:` line, not the Automation API's dump of the whole run."""
    text = str(error)
    lines = [line.strip() for line in text.splitlines() if line.strip().startswith("error:")]
    return lines[-1] if lines else text.strip().splitlines()[-1]
