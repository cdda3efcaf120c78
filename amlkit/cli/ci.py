"""`amlkit ci subjects`: the federated-credential subjects the workflows in
.github/workflows log in with, in GitHub's subject format: `repo:OWNER/REPO:environment:NAME`
for a job that names a GitHub environment (deploys, pull request environments, the sweep)
and `repo:OWNER/REPO:pull_request` for pull request jobs without one (the preview)."""

from __future__ import annotations

import re
from typing import Annotated

import typer

from .common import fail, out

app = typer.Typer(help="What CI needs set up outside the repository.", no_args_is_help=True)
_REPO = re.compile(r"^[A-Za-z0-9-]+/[A-Za-z0-9._-]+$")
_ENV = re.compile(r"^[^\s,:]+$")


@app.command("subjects")
def subjects(
    repo: Annotated[str, typer.Option("--repo", help="OWNER/REPO on GitHub.")],
    environments: Annotated[
        str,
        typer.Option(
            "--environments",
            help="GitHub environments, comma-separated (the workflows use "
            "dev, staging, prod and preview).",
        ),
    ] = "dev,staging,prod,preview",
) -> None:
    """Print one federated-credential subject a line (issuer
    https://token.actions.githubusercontent.com, audience api://AzureADTokenExchange)."""
    if not _REPO.match(repo):
        raise fail(f"--repo {repo!r}: write OWNER/REPO, e.g. contoso/ml-platform")
    names = [e.strip() for e in environments.split(",") if e.strip()]
    bad = [e for e in names if not _ENV.match(e)]
    if bad or not names:
        raise fail(
            f"--environments {environments!r}: comma-separated names without spaces or colons"
        )
    for name in names:
        out.print(f"repo:{repo}:environment:{name}", highlight=False, soft_wrap=True)
    out.print(f"repo:{repo}:pull_request", highlight=False, soft_wrap=True)
