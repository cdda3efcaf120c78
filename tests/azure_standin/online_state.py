"""What Azure ML holds for online endpoints and their deployments, and the rules
it enforces on them, for the stand-in server (`server.py` serves it over HTTP).

Rules enforced, as Azure ML documents them (safe-rollout doc, REST reference):
- traffic names only deployments of the endpoint that exist (provisioned, not
  being deleted) and sums to 0 or 100; values are integers;
- mirror traffic: one deployment at most, at most 50%, never a deployment with
  live traffic, never on a Kubernetes endpoint;
- a deployment with live traffic cannot be deleted (nor, an assumption on the
  safe side, one that receives mirrored traffic);
- a deployment's compute type matches its endpoint's;
- a deployment's PATCH takes `tags` and `sku` only (and what `endpoints.py`
  enforces for every kind).

What is NOT documented, and is modelled the worst way: a PUT of an endpoint
replaces `traffic` and `mirrorTraffic` wholesale; a body without them empties
them.
"""

from __future__ import annotations

from typing import Any

from tests.azure_standin.arm import ArmRefusal, Operation, require
from tests.azure_standin.endpoints import COMPUTED, EndpointStore

MAX_MIRROR_PERCENT = 50


class OnlineEndpoints(EndpointStore):
    noun = "endpoint"
    title = "Online endpoint"
    arm_type = "Microsoft.MachineLearningServices/workspaces/onlineEndpoints"

    def put_endpoint(self, key: str, name: str, body: dict[str, Any]) -> tuple[int, Operation]:
        self.state.idle(key)
        props = self.properties_of(body, location=True)
        require(
            props.get("authMode") in ("Key", "AMLToken", "AADToken"),
            f"properties.authMode {props.get('authMode')!r} is not one of Key, AMLToken, AADToken",
        )
        kubernetes = body.get("kind") == "Kubernetes" or bool(props.get("compute"))
        # A PUT replaces the split wholesale: what the body omits is gone.
        traffic = _split(props.get("traffic"), "traffic")
        mirror = _split(props.get("mirrorTraffic"), "mirrorTraffic")
        self._check_split(key, traffic, mirror, kubernetes)
        properties = {k: v for k, v in props.items() if k not in COMPUTED}
        properties.update(traffic=traffic, mirrorTraffic=mirror)
        return self.write_endpoint(key, name, body, properties)

    def put_deployment(self, key: str, name: str, body: dict[str, Any]) -> tuple[int, Operation]:
        endpoint = self.endpoint(key, parent=True)
        self.state.idle(key, name.lower())
        props = self.properties_of(body, location=False)
        kubernetes = endpoint.body.get("kind") == "Kubernetes" or bool(
            endpoint.body["properties"].get("compute")
        )
        wanted = "Kubernetes" if kubernetes else "Managed"
        require(
            props.get("endpointComputeType") == wanted,
            f"properties.endpointComputeType {props.get('endpointComputeType')!r}: "
            f"endpoint {endpoint.body['name']} takes {wanted} deployments",
        )
        return self.write_deployment(key, name, body)

    def check_delete(self, key: str, name: str) -> None:
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

    def live(self) -> dict[str, dict[str, int]]:
        """Live traffic by endpoint name."""
        return {name: dict(props["traffic"]) for name, props in self.held().items()}

    def mirrored(self) -> dict[str, dict[str, int]]:
        return {name: dict(props["mirrorTraffic"]) for name, props in self.held().items()}

    def _check_split(
        self, key: str, traffic: dict[str, int], mirror: dict[str, int], kubernetes: bool
    ) -> None:
        ready = self.ready(key)
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


def _split(value: Any, field_name: str) -> dict[str, int]:
    if value is None:
        return {}
    require(isinstance(value, dict), f"properties.{field_name} must be an object")
    for name, percent in value.items():
        require(
            isinstance(percent, int) and not isinstance(percent, bool) and 0 <= percent <= 100,
            f"properties.{field_name}.{name} must be an integer from 0 to 100, not {percent!r}",
        )
    return dict(value)
