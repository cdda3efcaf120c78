"""An online endpoint's live and mirrored traffic, applied after every deployment
it names exists.

Azure ML refuses `traffic` that names a deployment which does not exist yet, and
deployments are children of the endpoint, so traffic cannot travel with the
endpoint's creation (Azure ML "safe rollout" doc). This component owns the
split instead: one dynamic resource (`traffic_provider.EndpointTrafficProvider`)
that depends on every deployment of the endpoint, so the engine

- creates it after the endpoint and all its deployments: the first `pulumi up`
  creates the endpoint, its deployments and the split in one run;
- updates it in place when `traffic` or `mirror_traffic` changes in the config,
  after any deployment added or changed in the same run;
- updates it before it deletes a deployment removed from the config (deletes
  run after every create and update), so traffic moves off a deployment first;
- deletes it (traffic and mirror to zero) before any deployment on `destroy`.

How the endpoint itself never resets the split is explained in
`online_endpoint.py` (it sends the live split, read at program time).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import pulumi
import pulumi.dynamic

from .dynamic.traffic_provider import EndpointTrafficProvider
from .workspace_ref import WorkspaceRef


@dataclass(frozen=True)
class EndpointTrafficArgs:
    endpoint_name: pulumi.Input[str]
    workspace: WorkspaceRef
    endpoint_kind: Literal["managed", "kubernetes"]
    traffic: Mapping[str, int]
    """Validated by the spec: names deployments of the endpoint, sums to 0 or 100."""
    mirror_traffic: Mapping[str, int]
    deployment_names: Sequence[str]
    deployments: Sequence[pulumi.Resource] = field(default_factory=tuple)
    """Every deployment of the endpoint: the split is applied only after all exist."""


class EndpointTrafficSplit(pulumi.dynamic.Resource):
    """The dynamic resource; its outputs are what Azure held after the write."""

    applied: pulumi.Output[bool]
    live_traffic: pulumi.Output[dict[str, int]]
    live_mirror_traffic: pulumi.Output[dict[str, int]]

    def __init__(
        self, name: str, props: Mapping[str, Any], opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(
            EndpointTrafficProvider(),
            name,
            {**props, "applied": None, "liveTraffic": None, "liveMirrorTraffic": None},
            opts,
        )


class EndpointTraffic(pulumi.ComponentResource):
    traffic: pulumi.Output[dict[str, int]]
    """Desired live traffic by deployment (validated: sums to 0 or 100)."""
    mirror_traffic: pulumi.Output[dict[str, int]]
    """Desired mirrored traffic (validated: one deployment, at most 50%, none with live traffic)."""
    applied: pulumi.Output[bool]
    """True once Azure holds the split: the provider reads it back after writing it.
    False in an offline plan, where nothing is written."""

    def __init__(
        self, name: str, args: EndpointTrafficArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        # The split as inputs (resource policies, amlkit plan) and outputs (stack
        # policies see a component's outputs), so that aml-endpoint-traffic sees it.
        props = {
            "endpointName": args.endpoint_name,
            "traffic": dict(args.traffic),
            "mirrorTraffic": dict(args.mirror_traffic),
        }
        super().__init__("amlkit:index:EndpointTraffic", name, props, opts)
        split = EndpointTrafficSplit(
            f"{name}-split",
            {
                "workspaceId": args.workspace.workspace_id,
                "endpointName": args.endpoint_name,
                "endpointKind": args.endpoint_kind,
                "deployments": list(args.deployment_names),
                "traffic": dict(args.traffic),
                "mirrorTraffic": dict(args.mirror_traffic),
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.deployments)),
        )
        self.traffic = pulumi.Output.from_input(dict(args.traffic))
        self.mirror_traffic = pulumi.Output.from_input(dict(args.mirror_traffic))
        self.applied = split.applied.apply(lambda a: a is True)
        self.register_outputs(
            {
                "endpointName": args.endpoint_name,
                "traffic": self.traffic,
                "mirror_traffic": self.mirror_traffic,
                "applied": self.applied,
            }
        )
