"""The Pulumi CLI through the Automation API (`pulumi.automation`).

`LocalWorkspace` on the project folder, with an explicit `PulumiCommand`: the `pulumi`
on PATH, or `$AMLKIT_PULUMI_ROOT/bin/pulumi` (the layout `PulumiCommand.install` uses),
never a download at run time. Where there is no CLI, `PulumiMissing` carries the one
line to print.
"""

from __future__ import annotations

import os

from pulumi.automation import LocalWorkspace, PulumiCommand

from amlkit.specs.project import Project

ROOT_VARIABLE = "AMLKIT_PULUMI_ROOT"
"""A Pulumi installation's root (holding bin/pulumi); default: `pulumi` on PATH."""


class PulumiMissing(Exception):
    """No Pulumi CLI to run; the message says how to get one."""


def workspace(project: Project) -> LocalWorkspace:
    """A workspace on the project (Pulumi.yaml, `stackConfigDir`), or PulumiMissing."""
    root = os.environ.get(ROOT_VARIABLE) or None
    try:
        command = PulumiCommand(root=root)
    except (FileNotFoundError, PermissionError):
        where = f"{root}/bin/pulumi" if root else "pulumi on PATH"
        raise PulumiMissing(
            f"this needs the Pulumi CLI and found no {where}: install it "
            "(https://www.pulumi.com/docs/install/) or set AMLKIT_PULUMI_ROOT"
        ) from None
    return LocalWorkspace(work_dir=str(project.root), pulumi_command=command)
