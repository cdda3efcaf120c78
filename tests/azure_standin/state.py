"""What Azure ML holds for online endpoints and deployments, and the rules it
enforces on them, for the stand-in server (`server.py` serves it over HTTP).

Rules enforced, as Azure ML documents them (safe-rollout doc, REST reference):
- traffic names only deployments of the endpoint that exist (provisioned, not
  being deleted) and sums to 0 or 100; values are integers;
- mirror traffic: one deployment at most, at most 50%, never a deployment with
  live traffic, never on a Kubernetes endpoint;
- a deployment with live traffic cannot be deleted (nor, an assumption on the
  safe side, one that receives mirrored traffic);
- a deployment's compute type matches its endpoint's;
- one operation at a time on a resource (409 Conflict while one runs);
- the endpoint's PATCH takes `tags` and `identity` only; a deployment's takes
  `tags` and `sku` only.

What is NOT documented, and is modelled the worst way: a PUT of an endpoint
replaces `traffic` and `mirrorTraffic` wholesale; a body without them empties
them. Writes take effect when their long-running operation completes.
"""

from __future__ import annotations

import copy
import itertools
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

MAX_MIRROR_PERCENT = 50
POLLS_PER_OPERATION = 2
"""Status polls that answer InProgress before an operation succeeds."""


class ArmRefusal(Exception):
    """An error ARM answers with: status, code, message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass
class Operation:
    id: str
    resource: tuple[str, ...]
    description: str
    commit: Callable[[], None]
    polls_left: int = POLLS_PER_OPERATION
    status: str = "InProgress"


@dataclass
class Change:
    """One committed write, and the split every endpoint held right after it."""

    seq: int
    label: str
    request: str
    traffic: dict[str, dict[str, int]]
    mirror: dict[str, dict[str, int]]


@dataclass
class Resource:
    body: dict[str, Any]
    provisioning: str = "Creating"
    deleting: bool = False


@dataclass
class MLState:
    endpoints: dict[str, Resource] = field(default_factory=dict)
    """By `<workspace id>/onlineendpoints/<name>`, lower case (ARM ids are case-insensitive)."""
    deployments: dict[str, dict[str, Resource]] = field(default_factory=dict)
    """Endpoint key -> deployment name (lower case) -> deployment."""
    operations: dict[str, Operation] = field(default_factory=dict)
    history: list[Change] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    """Every request received, `METHOD path`: what a client sent, in order."""
    label: str = ""
    """Set by the tests: which engine step the next writes belong to."""
    lock: threading.RLock = field(default_factory=threading.RLock)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    # ----- endpoints -------------------------------------------------------
    def put_endpoint(self, key: str, name: str, body: dict[str, Any]) -> tuple[int, Operation]:
        self._idle(key)
        _require(isinstance(body.get("location"), str), "location is required")
        props = body.get("properties")
        _require(isinstance(props, dict), "properties is required")
        assert isinstance(props, dict)
        _require(
            props.get("authMode") in ("Key", "AMLToken", "AADToken"),
            f"properties.authMode {props.get('authMode')!r} is not one of Key, AMLToken, AADToken",
        )
        existing = self.endpoints.get(key)
        kubernetes = body.get("kind") == "Kubernetes" or bool(props.get("compute"))
        # A PUT replaces the split wholesale: what the body omits is gone.
        traffic = _split(props.get("traffic"), "traffic")
        mirror = _split(props.get("mirrorTraffic"), "mirrorTraffic")
        self._check_split(key, traffic, mirror, kubernetes)
        stored = {
            "id": None,
            "name": name,
            "type": "Microsoft.MachineLearningServices/workspaces/onlineEndpoints",
            **{k: copy.deepcopy(v) for k, v in body.items() if k not in ("id", "name", "type")},
        }
        stored["properties"] = {
            **{
                k: v
                for k, v in props.items()
                if k not in ("provisioningState", "scoringUri", "swaggerUri")
            },
            "traffic": traffic,
            "mirrorTraffic": mirror,
        }

        def commit() -> None:
            if existing is None:
                self.endpoints[key] = Resource(stored, "Succeeded")
                self.deployments.setdefault(key, {})
            else:
                existing.body, existing.provisioning = stored, "Succeeded"

        if existing is None:
            self.endpoints[key] = Resource(stored, "Creating")
            self.deployments.setdefault(key, {})
        else:
            existing.provisioning = "Updating"
        return (201 if existing is None else 200), self._start(
            (key,), f"PUT endpoint {name}", commit
        )

    def patch_endpoint(self, key: str, body: dict[str, Any]) -> Operation:
        endpoint = self._endpoint(key)
        self._idle(key)
        extra = sorted(set(body) - {"tags", "identity"})
        _require(not extra, f"the endpoint's PATCH takes tags and identity only, not {extra}")
        endpoint.provisioning = "Updating"

        def commit() -> None:
            endpoint.body.update(copy.deepcopy(body))
            endpoint.provisioning = "Succeeded"

        return self._start((key,), f"PATCH endpoint {endpoint.body['name']}", commit)

    def delete_endpoint(self, key: str) -> Operation:
        endpoint = self._endpoint(key)
        self._idle(key)
        endpoint.deleting, endpoint.provisioning = True, "Deleting"

        def commit() -> None:
            self.endpoints.pop(key, None)
            self.deployments.pop(key, None)

        return self._start((key,), f"DELETE endpoint {endpoint.body['name']}", commit)

    # ----- deployments -----------------------------------------------------
    def put_deployment(self, key: str, name: str, body: dict[str, Any]) -> tuple[int, Operation]:
        endpoint = self._endpoint(key, parent=True)
        self._idle(key, name.lower())
        props = body.get("properties")
        _require(isinstance(props, dict), "properties is required")
        assert isinstance(props, dict)
        kubernetes = endpoint.body.get("kind") == "Kubernetes" or bool(
            endpoint.body["properties"].get("compute")
        )
        wanted = "Kubernetes" if kubernetes else "Managed"
        _require(
            props.get("endpointComputeType") == wanted,
            f"properties.endpointComputeType {props.get('endpointComputeType')!r}: "
            f"endpoint {endpoint.body['name']} takes {wanted} deployments",
        )
        stored = {
            "id": None,
            "name": name,
            "type": "Microsoft.MachineLearningServices/workspaces/onlineEndpoints/deployments",
            **{k: copy.deepcopy(v) for k, v in body.items() if k not in ("id", "name", "type")},
        }
        deployments = self.deployments[key]
        existing = deployments.get(name.lower())

        def commit() -> None:
            current = deployments.get(name.lower())
            if current is not None:
                current.body, current.provisioning = stored, "Succeeded"

        if existing is None:
            deployments[name.lower()] = Resource(stored, "Creating")
        else:
            existing.provisioning = "Updating"
        return (201 if existing is None else 200), self._start(
            (key, name.lower()), f"PUT deployment {name}", commit
        )

    def patch_deployment(self, key: str, name: str, body: dict[str, Any]) -> Operation:
        deployment = self._deployment(key, name)
        self._idle(key, name.lower())
        extra = sorted(set(body) - {"tags", "sku"})
        _require(not extra, f"a deployment's PATCH takes tags and sku only, not {extra}")
        deployment.provisioning = "Updating"

        def commit() -> None:
            deployment.body.update(copy.deepcopy(body))
            deployment.provisioning = "Succeeded"

        return self._start((key, name.lower()), f"PATCH deployment {name}", commit)

    def delete_deployment(self, key: str, name: str) -> Operation:
        deployment = self._deployment(key, name)
        self._idle(key, name.lower())
        props = self.endpoints[key].body["properties"]
        for field_name, what in (("traffic", "live"), ("mirrorTraffic", "mirrored")):
            percent = {k.lower(): v for k, v in props[field_name].items()}.get(name.lower(), 0)
            if percent > 0:
                raise ArmRefusal(
                    400,
                    "BadRequest",
                    f"Deployment {name} receives {percent}% of {what} traffic; "
                    "set its traffic to 0 before deleting it.",
                )
        deployment.deleting, deployment.provisioning = True, "Deleting"

        def commit() -> None:
            self.deployments.get(key, {}).pop(name.lower(), None)

        return self._start((key, name.lower()), f"DELETE deployment {name}", commit)

    # ----- reads and operations -------------------------------------------
    def get_endpoint(self, key: str) -> dict[str, Any]:
        endpoint = self._endpoint(key)
        return _with_state(endpoint)

    def get_deployment(self, key: str, name: str) -> dict[str, Any]:
        return _with_state(self._deployment(key, name))

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

    def live(self) -> dict[str, dict[str, int]]:
        """Live traffic by endpoint name."""
        return {
            e.body["name"]: dict(e.body["properties"]["traffic"])
            for e in self.endpoints.values()
            if e.provisioning != "Creating"
        }

    def mirrored(self) -> dict[str, dict[str, int]]:
        return {
            e.body["name"]: dict(e.body["properties"]["mirrorTraffic"])
            for e in self.endpoints.values()
            if e.provisioning != "Creating"
        }

    def deployment_names(self) -> dict[str, list[str]]:
        return {
            e.body["name"]: sorted(
                d.body["name"]
                for d in self.deployments.get(k, {}).values()
                if d.provisioning != "Creating"
            )
            for k, e in self.endpoints.items()
            if e.provisioning != "Creating"
        }

    # ----- rules -----------------------------------------------------------
    def _check_split(
        self, key: str, traffic: dict[str, int], mirror: dict[str, int], kubernetes: bool
    ) -> None:
        ready = {
            n
            for n, d in self.deployments.get(key, {}).items()
            if d.provisioning in ("Succeeded", "Updating") and not d.deleting
        }
        for field_name, split in (("traffic", traffic), ("mirrorTraffic", mirror)):
            missing = sorted(k for k in split if k.lower() not in ready)
            if missing:
                raise ArmRefusal(
                    400,
                    "BadRequest",
                    f"{field_name} names deployments that do not exist on this endpoint: {missing}",
                )
        total = sum(traffic.values())
        if total not in (0, 100):
            raise ArmRefusal(
                400, "BadRequest", f"Traffic values must sum to 0 or 100; they sum to {total}."
            )
        if not mirror:
            return
        if kubernetes:
            raise ArmRefusal(400, "BadRequest", "Mirror traffic is not supported on Kubernetes.")
        if len([v for v in mirror.values() if v > 0]) > 1:
            raise ArmRefusal(400, "BadRequest", "Mirror traffic goes to one deployment at most.")
        for name, percent in mirror.items():
            if percent > MAX_MIRROR_PERCENT:
                raise ArmRefusal(
                    400, "BadRequest", f"Mirror traffic is at most 50%; {name} asks {percent}%."
                )
            if percent > 0 and traffic.get(name, 0) > 0:
                raise ArmRefusal(
                    400,
                    "BadRequest",
                    f"Deployment {name} has live traffic and cannot receive mirrored traffic.",
                )

    def _endpoint(self, key: str, *, parent: bool = False) -> Resource:
        endpoint = self.endpoints.get(key)
        if endpoint is None or (endpoint.provisioning == "Creating" and parent):
            code = "ParentResourceNotFound" if parent else "ResourceNotFound"
            raise ArmRefusal(404, code, f"Online endpoint {key.rsplit('/', 1)[-1]} not found.")
        return endpoint

    def _deployment(self, key: str, name: str) -> Resource:
        self._endpoint(key, parent=True)
        deployment = self.deployments.get(key, {}).get(name.lower())
        if deployment is None:
            raise ArmRefusal(404, "ResourceNotFound", f"Deployment {name} not found.")
        return deployment

    def _idle(self, *resource: str) -> None:
        for operation in self.operations.values():
            if operation.status == "InProgress" and operation.resource == resource:
                raise ArmRefusal(
                    409, "Conflict", f"{operation.description} is still running; retry later."
                )

    def _start(
        self, resource: tuple[str, ...], description: str, commit: Callable[[], None]
    ) -> Operation:
        operation = Operation(f"op-{next(self._ids)}", resource, description, commit)
        self.operations[operation.id] = operation
        return operation

    def _record(self, request: str) -> None:
        self.history.append(
            Change(len(self.history) + 1, self.label, request, self.live(), self.mirrored())
        )


def _split(value: Any, field_name: str) -> dict[str, int]:
    if value is None:
        return {}
    _require(isinstance(value, dict), f"properties.{field_name} must be an object")
    for name, percent in value.items():
        _require(
            isinstance(percent, int) and not isinstance(percent, bool) and 0 <= percent <= 100,
            f"properties.{field_name}.{name} must be an integer from 0 to 100, not {percent!r}",
        )
    return dict(value)


def _with_state(resource: Resource) -> dict[str, Any]:
    body = copy.deepcopy(resource.body)
    body["properties"] = {**body.get("properties", {}), "provisioningState": resource.provisioning}
    return body


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ArmRefusal(400, "BadRequest", message)
