"""An Azure ML compute cluster (AmlCompute) that scales to zero when idle."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
from pulumi_azure_native import machinelearningservices as ml

from amlkit.specs.compute import ComputeClusterSpec
from amlkit.specs.stack import StackEnvironment

from .durations import iso_seconds
from .identity_args import identity_args
from .tags import stack_tags
from .workspace_ref import WorkspaceRef


@dataclass(frozen=True)
class ComputeClusterArgs:
    spec: ComputeClusterSpec
    environment: StackEnvironment
    workspace: WorkspaceRef
    identities: Mapping[str, pulumi.Input[str]]
    """The stack's user-assigned identities, by name -> ARM id."""


class ComputeCluster(pulumi.ComponentResource):
    """Local auth off unless `ssh_settings` ask for an admin account (as az ml; checkov
    CKV_AZURE_142), SSH closed unless asked (a deliberate difference from az ml:
    amlkit/plan/differences.py), scale to zero."""

    compute_id: pulumi.Output[str]
    compute_name: pulumi.Output[str]

    def __init__(
        self, name: str, args: ComputeClusterArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("amlkit:index:ComputeCluster", name, None, opts)
        spec = args.spec
        ssh = spec.ssh_settings
        credentials = None
        if ssh is not None:
            credentials = ml.UserAccountCredentialsArgs(
                admin_user_name=ssh.admin_username,
                admin_user_password=pulumi.Output.secret(ssh.admin_password.get_secret_value())
                if ssh.admin_password
                else None,
                admin_user_ssh_public_key=ssh.ssh_key_value,
            )
        cluster = ml.Compute(
            name,
            compute_name=spec.name,
            resource_group_name=args.workspace.resource_group_name,
            workspace_name=args.workspace.workspace_name,
            location=spec.location or args.workspace.location,
            identity=identity_args(spec.identity, args.identities),
            tags={**stack_tags(args.environment), **spec.tags},
            properties=ml.AmlComputeArgs(
                compute_type="AmlCompute",
                description=spec.description,
                # As az ml sends it: local auth off, unless `ssh_settings` give the nodes an
                # admin account to log in with (azure-ai-ml AmlCompute._to_rest_object).
                disable_local_auth=ssh is None,
                properties=ml.AmlComputePropertiesArgs(
                    vm_size=spec.size,
                    vm_priority="LowPriority" if spec.tier == "low_priority" else "Dedicated",
                    scale_settings=ml.ScaleSettingsArgs(
                        min_node_count=spec.min_instances,
                        max_node_count=spec.max_instances,
                        node_idle_time_before_scale_down=iso_seconds(
                            spec.idle_time_before_scale_down
                        ),
                    ),
                    remote_login_port_public_access="Enabled"
                    if spec.ssh_public_access_enabled
                    else "Disabled",
                    enable_node_public_ip=spec.enable_node_public_ip,
                    subnet=_subnet(spec, args.workspace),
                    user_account_credentials=credentials,
                    os_type="Linux",
                ),
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.compute_id = cluster.id
        self.compute_name = cluster.name
        self.register_outputs({"compute_id": self.compute_id, "compute_name": self.compute_name})


def _subnet(spec: ComputeClusterSpec, workspace: WorkspaceRef) -> ml.ResourceIdArgs | None:
    """A full subnet id as given, or `vnet_name` + `subnet` in the workspace's resource group
    (the spec requires one of the two)."""
    network = spec.network_settings
    if network is None or not network.subnet:
        return None
    if network.subnet.startswith("/subscriptions/"):
        return ml.ResourceIdArgs(id=network.subnet)
    from pulumi_azure_native import authorization

    subscription = authorization.get_client_config_output().subscription_id
    return ml.ResourceIdArgs(
        id=pulumi.Output.concat(
            "/subscriptions/",
            subscription,
            "/resourceGroups/",
            workspace.resource_group_name,
            "/providers/Microsoft.Network/virtualNetworks/",
            network.vnet_name or "",
            "/subnets/",
            network.subnet,
        )
    )
