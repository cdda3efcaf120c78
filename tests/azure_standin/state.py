"""Everything the stand-in holds: online and batch endpoints with their
deployments (`online_state.py`, `batch_state.py`, each with Azure ML's rules for
its kind), the long-running operations of their writes, and a timeline of what
was committed.

Writes take effect when their long-running operation completes: the operation
reports InProgress for `POLLS_PER_OPERATION` polls, then Succeeded; one
operation at a time runs on a resource (409 Conflict while one runs).
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from tests.azure_standin.arm import ArmRefusal, Operation
from tests.azure_standin.batch_state import BatchEndpoints
from tests.azure_standin.monitor import Scenario
from tests.azure_standin.online_state import OnlineEndpoints
from tests.azure_standin.workspaces import Workspaces


@dataclass
class Change:
    """One committed write, and what every endpoint held right after it."""

    seq: int
    label: str
    request: str
    traffic: dict[str, dict[str, int]]
    """Live traffic of every online endpoint, by endpoint name."""
    mirror: dict[str, dict[str, int]]
    defaults: dict[str, str | None]
    """The default deployment of every batch endpoint, by endpoint name."""
    at: datetime | None = None
    """When it was committed, by the scenario's clock (the metrics follow it)."""


@dataclass
class MLState:
    operations: dict[str, Operation] = field(default_factory=dict)
    history: list[Change] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    """Every request received, `METHOD path`: what a client sent, in order."""
    label: str = ""
    """Set by the tests: which engine step the next writes belong to."""
    lock: threading.RLock = field(default_factory=threading.RLock)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    online: OnlineEndpoints = field(init=False)
    batch: BatchEndpoints = field(init=False)
    workspaces: Workspaces = field(default_factory=Workspaces)
    """Azure ML and Log Analytics workspaces, for what a purge releases."""
    monitor: Scenario = field(default_factory=Scenario)
    """What Azure Monitor and the scoring route report (`monitor.py`); the tests set it."""
    writes_authorized: bool = True
    """False: the caller lost its Azure ML role, and every PUT, PATCH and DELETE is
    refused with 403 AuthorizationFailed (reads still answer), as Azure RBAC does."""

    def __post_init__(self) -> None:
        self.online = OnlineEndpoints(self)
        self.batch = BatchEndpoints(self)

    def poll(self, operation_id: str) -> Operation:
        operation = self.operations.get(operation_id)
        if operation is None:
            raise ArmRefusal(404, "NotFound", f"operation {operation_id} not found")
        if operation.status == "InProgress":
            operation.polls_left -= 1
            if operation.polls_left <= 0:
                operation.commit()
                operation.status = "Succeeded"
                self._record(operation.description)
        return operation

    def idle(self, *resource: str) -> None:
        for operation in self.operations.values():
            if operation.status == "InProgress" and operation.resource == resource:
                raise ArmRefusal(
                    409, "Conflict", f"{operation.description} is still running; retry later."
                )

    def start(
        self, resource: tuple[str, ...], description: str, commit: Callable[[], None]
    ) -> Operation:
        operation = Operation(f"op-{next(self._ids)}", resource, description, commit)
        self.operations[operation.id] = operation
        return operation

    def _record(self, request: str) -> None:
        self.history.append(
            Change(
                len(self.history) + 1,
                self.label,
                request,
                self.online.live(),
                self.online.mirrored(),
                self.batch.defaults(),
                self.monitor.clock(),
            )
        )

    def split_at(self, key: str, moment: datetime) -> tuple[dict[str, int], dict[str, int]]:
        """The online endpoint's live and mirrored split as committed at `moment`."""
        name = self.online.endpoints[key].body["name"]
        for change in reversed(self.history):
            if change.at is not None and change.at <= moment and name in change.traffic:
                return change.traffic[name], change.mirror.get(name, {})
        return {}, {}
