"""The seam where an online endpoint's live and mirrored traffic is applied.

Azure ML refuses `traffic` that names a deployment which does not exist yet, and
deployments are children of the endpoint, so traffic cannot travel with the
endpoint's creation (Azure ML "safe rollout" doc). The endpoint is therefore
created without traffic and ignores later changes to it, so that no update of
another endpoint property ever resets live traffic; the split is this
component's job, after every deployment it names exists.

NOT DONE YET: this component records the desired split and orders itself after
every deployment, but does not write it to Azure. Writing it (a dynamic resource
that reads the endpoint and PATCHes `traffic` and `mirrorTraffic`, moving traffic
away before a deployment is deleted and to zero before destroy) is the issue
"Traffic that never drops". Until then, set traffic once with
`az ml online-endpoint update --traffic` after the first `pulumi up`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi

from .workspace_ref import WorkspaceRef


@dataclass(frozen=True)
class EndpointTrafficArgs:
    endpoint_name: pulumi.Input[str]
    workspace: WorkspaceRef
    traffic: Mapping[str, int]
    mirror_traffic: Mapping[str, int]
    deployments: Sequence[pulumi.Resource] = field(default_factory=tuple)
    """Every deployment of the endpoint: the split is applied only after all exist."""


class EndpointTraffic(pulumi.ComponentResource):
    traffic: pulumi.Output[dict[str, int]]
    """Desired live traffic by deployment (validated: sums to 0 or 100)."""
    mirror_traffic: pulumi.Output[dict[str, int]]
    """Desired mirrored traffic (validated: one deployment, at most 50%, none with live traffic)."""
    applied: pulumi.Output[bool]
    """False until the traffic work lands: nothing has been written to Azure."""

    def __init__(
        self, name: str, args: EndpointTrafficArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        opts = pulumi.ResourceOptions.merge(
            opts, pulumi.ResourceOptions(depends_on=list(args.deployments))
        )
        # The split as inputs (resource policies, amlkit plan) and outputs (stack
        # policies see a component's outputs), so that aml-endpoint-traffic sees it.
        props = {
            "endpointName": args.endpoint_name,
            "traffic": dict(args.traffic),
            "mirrorTraffic": dict(args.mirror_traffic),
        }
        super().__init__("amlkit:index:EndpointTraffic", name, props, opts)
        self.traffic = pulumi.Output.from_input(dict(args.traffic))
        self.mirror_traffic = pulumi.Output.from_input(dict(args.mirror_traffic))
        self.applied = pulumi.Output.from_input(False)
        self.register_outputs(
            {
                "endpointName": args.endpoint_name,
                "traffic": self.traffic,
                "mirror_traffic": self.mirror_traffic,
                "applied": self.applied,
            }
        )
