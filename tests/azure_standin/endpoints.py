"""Endpoints of one kind and their deployments as the stand-in stores them: writes
as long-running operations, lookups that answer ARM's 404s, and the rules online
and batch endpoints share (one operation at a time on a resource, a deployment
needs its endpoint, the endpoint's PATCH takes `tags` and `identity` only).
`state.py` (online) and `batch_state.py` add each kind's own rules.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from tests.azure_standin.arm import ArmRefusal, Operation, Resource, require

if TYPE_CHECKING:
    from tests.azure_standin.state import MLState

COMPUTED = ("provisioningState", "scoringUri", "swaggerUri")
"""What Azure computes for an endpoint: never taken from a request body."""


class EndpointStore:
    """Endpoints by `<workspace id>/<kind>endpoints/<name>` (lower case: ARM ids are
    case-insensitive), and each endpoint's deployments by lower-case name."""

    noun = "endpoint"
    """How the recorded requests name this kind: `PUT <noun> <name>`."""
    title = "Endpoint"
    """How Azure's 404 names it: `<title> <name> not found.`"""
    arm_type = ""
    deployment_patch = frozenset({"tags", "sku"})
    """What a deployment's PATCH may change."""

    def __init__(self, state: MLState) -> None:
        self.state = state
        self.endpoints: dict[str, Resource] = {}
        self.deployments: dict[str, dict[str, Resource]] = {}

    # ----- endpoints -------------------------------------------------------
    def write_endpoint(
        self, key: str, name: str, body: dict[str, Any], properties: dict[str, Any]
    ) -> tuple[int, Operation]:
        """Store the endpoint with these properties (already checked) when its operation ends."""
        existing = self.endpoints.get(key)
        stored = self._stored(name, body, self.arm_type)
        stored["properties"] = properties

        def commit() -> None:
            if existing is None:
                self.endpoints[key] = Resource(stored, "Succeeded")
            else:
                existing.body, existing.provisioning = stored, "Succeeded"

        if existing is None:
            self.endpoints[key] = Resource(stored, "Creating")
            self.deployments.setdefault(key, {})
        else:
            existing.provisioning = "Updating"
        return (201 if existing is None else 200), self.state.start(
            (key,), f"PUT {self.noun} {name}", commit
        )

    def patch_endpoint(self, key: str, body: dict[str, Any]) -> Operation:
        endpoint = self.endpoint(key)
        self.state.idle(key)
        extra = sorted(set(body) - {"tags", "identity"})
        require(not extra, f"the endpoint's PATCH takes tags and identity only, not {extra}")
        return self._update(endpoint, (key,), f"PATCH {self.noun} {endpoint.body['name']}", body)

    def delete_endpoint(self, key: str) -> Operation:
        endpoint = self.endpoint(key)
        self.state.idle(key)
        endpoint.deleting, endpoint.provisioning = True, "Deleting"

        def commit() -> None:
            self.endpoints.pop(key, None)
            self.deployments.pop(key, None)

        return self.state.start((key,), f"DELETE {self.noun} {endpoint.body['name']}", commit)

    # ----- deployments -----------------------------------------------------
    def write_deployment(self, key: str, name: str, body: dict[str, Any]) -> tuple[int, Operation]:
        """Store the deployment (already checked) when its operation ends."""
        stored = self._stored(name, body, f"{self.arm_type}/deployments")
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
        noun = self.noun.replace("endpoint", "deployment")
        return (201 if existing is None else 200), self.state.start(
            (key, name.lower()), f"PUT {noun} {name}", commit
        )

    def patch_deployment(self, key: str, name: str, body: dict[str, Any]) -> Operation:
        deployment = self.deployment(key, name)
        self.state.idle(key, name.lower())
        extra = sorted(set(body) - self.deployment_patch)
        allowed = " and ".join(sorted(self.deployment_patch))
        require(not extra, f"a deployment's PATCH takes {allowed} only, not {extra}")
        noun = self.noun.replace("endpoint", "deployment")
        return self._update(deployment, (key, name.lower()), f"PATCH {noun} {name}", body)

    def delete_deployment(self, key: str, name: str) -> Operation:
        deployment = self.deployment(key, name)
        self.state.idle(key, name.lower())
        self.check_delete(key, name)
        deployment.deleting, deployment.provisioning = True, "Deleting"

        def commit() -> None:
            self.deployments.get(key, {}).pop(name.lower(), None)

        noun = self.noun.replace("endpoint", "deployment")
        return self.state.start((key, name.lower()), f"DELETE {noun} {name}", commit)

    def check_delete(self, key: str, name: str) -> None:
        """Refuse deleting a deployment the endpoint still needs (each kind's rule)."""

    # ----- reads -----------------------------------------------------------
    def get_endpoint(self, key: str) -> dict[str, Any]:
        return self.endpoint(key).with_state()

    def get_deployment(self, key: str, name: str) -> dict[str, Any]:
        return self.deployment(key, name).with_state()

    def held(self) -> dict[str, dict[str, Any]]:
        """Each endpoint's properties by endpoint name, once created."""
        return {
            e.body["name"]: e.body["properties"]
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

    def ready(self, key: str) -> set[str]:
        """Lower-case names of the endpoint's deployments that exist (not being deleted)."""
        return {
            n
            for n, d in self.deployments.get(key, {}).items()
            if d.provisioning in ("Succeeded", "Updating") and not d.deleting
        }

    def endpoint(self, key: str, *, parent: bool = False) -> Resource:
        endpoint = self.endpoints.get(key)
        if endpoint is None or (endpoint.provisioning == "Creating" and parent):
            code = "ParentResourceNotFound" if parent else "ResourceNotFound"
            raise ArmRefusal(404, code, f"{self.title} {key.rsplit('/', 1)[-1]} not found.")
        return endpoint

    def deployment(self, key: str, name: str) -> Resource:
        self.endpoint(key, parent=True)
        deployment = self.deployments.get(key, {}).get(name.lower())
        if deployment is None:
            raise ArmRefusal(404, "ResourceNotFound", f"Deployment {name} not found.")
        return deployment

    # ----- helpers ---------------------------------------------------------
    @staticmethod
    def properties_of(body: dict[str, Any], *, location: bool) -> dict[str, Any]:
        """The body's `properties` (required, an object), and its `location` if asked."""
        if location:
            require(isinstance(body.get("location"), str), "location is required")
        props = body.get("properties")
        require(isinstance(props, dict), "properties is required")
        assert isinstance(props, dict)
        return props

    @staticmethod
    def _stored(name: str, body: dict[str, Any], arm_type: str) -> dict[str, Any]:
        return {
            "id": None,
            "name": name,
            "type": arm_type,
            **{k: copy.deepcopy(v) for k, v in body.items() if k not in ("id", "name", "type")},
        }

    def _update(
        self, resource: Resource, on: tuple[str, ...], description: str, body: dict[str, Any]
    ) -> Operation:
        resource.provisioning = "Updating"

        def commit() -> None:
            resource.body.update(copy.deepcopy(body))
            resource.provisioning = "Succeeded"

        return self.state.start(on, description, commit)
