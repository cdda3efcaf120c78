"""The resource group that holds one environment's resources."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_azure_native import resources

from amlkit.specs.naming import Names
from amlkit.specs.stack import StackEnvironment

from .tags import stack_tags


@dataclass(frozen=True)
class ResourceGroupArgs:
    environment: StackEnvironment


class ResourceGroup(pulumi.ComponentResource):
    """`rg-amlkit-<env>` (or `environment.resource_group`), protected with the
    environment's stateful resources: deleting the group deletes them all."""

    name: pulumi.Output[str]
    """The resource group's Azure name."""
    id: pulumi.Output[str]

    def __init__(
        self, name: str, args: ResourceGroupArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("amlkit:index:ResourceGroup", name, None, opts)
        env = args.environment
        group = resources.ResourceGroup(
            name,
            resource_group_name=Names(env).resource_group(),
            location=env.location,
            tags=stack_tags(env),
            opts=pulumi.ResourceOptions(parent=self, protect=env.protect),
        )
        self.name = group.name
        self.id = group.id
        self.register_outputs({"name": self.name, "id": self.id})
