"""What Azure ML holds for batch endpoints and their deployments, and the rules it
enforces on them, for the stand-in server (`server.py` serves it over HTTP).

Rules enforced, as Azure ML documents them (batch endpoint YAML and REST
reference), besides what `endpoints.py` enforces for every kind:
- batch endpoints take Microsoft Entra tokens only (`authMode` AADToken);
- `defaults.deploymentName` names a deployment of the endpoint that exists
  (provisioned, not being deleted): the endpoint sends every invocation there;
- model deployments need `compute`, the cluster their jobs run on.

What is NOT documented, and is modelled the worst way, as for online traffic: a
PUT of a batch endpoint replaces `defaults` wholesale; a body without them
leaves the endpoint with no default deployment. Azure is not modelled as making
the first deployment the default by itself: amlkit must set it.
"""

from __future__ import annotations

from typing import Any

from tests.azure_standin.arm import ArmRefusal, Operation, require
from tests.azure_standin.endpoints import COMPUTED, EndpointStore


class BatchEndpoints(EndpointStore):
    noun = "batch endpoint"
    title = "Batch endpoint"
    arm_type = "Microsoft.MachineLearningServices/workspaces/batchEndpoints"
    deployment_patch = frozenset({"tags", "properties"})
    """Batch deployments' PATCH takes tags and (partial) properties."""

    def put_endpoint(self, key: str, name: str, body: dict[str, Any]) -> tuple[int, Operation]:
        self.state.idle(key)
        props = self.properties_of(body, location=True)
        require(
            props.get("authMode") == "AADToken",
            f"properties.authMode {props.get('authMode')!r}: batch endpoints take AADToken only",
        )
        defaults = props.get("defaults") or {}
        require(isinstance(defaults, dict), "properties.defaults must be an object")
        default = defaults.get("deploymentName")
        if default is not None:
            ready = self.ready(key)
            if str(default).lower() not in ready:
                raise ArmRefusal(
                    400,
                    "BadRequest",
                    f"defaults.deploymentName {default!r} is not a deployment of this endpoint "
                    f"(deployments: {sorted(ready)})",
                )
        # A PUT replaces the defaults wholesale: what the body omits is gone.
        properties = {k: v for k, v in props.items() if k not in (*COMPUTED, "defaults")}
        properties["defaults"] = {"deploymentName": default}
        return self.write_endpoint(key, name, body, properties)

    def put_deployment(self, key: str, name: str, body: dict[str, Any]) -> tuple[int, Operation]:
        self.endpoint(key, parent=True)
        self.state.idle(key, name.lower())
        props = self.properties_of(body, location=False)
        require(
            isinstance(props.get("compute"), str) and bool(props.get("compute")),
            "properties.compute is required: the cluster the deployment's jobs run on",
        )
        return self.write_deployment(key, name, body)

    def defaults(self) -> dict[str, str | None]:
        """The default deployment by endpoint name (None: the endpoint has none)."""
        return {name: props["defaults"]["deploymentName"] for name, props in self.held().items()}
