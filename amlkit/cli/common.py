"""What every amlkit command shares: the consoles, the exit codes, the options that mean
the same everywhere (`--stack`, `--project`) and how a problem is printed.

Exit codes, for CI (the README's table): 0 all good; 1 the work was done but a check
failed (a mandatory policy, Azure's models, a local deployment that would not start); 2
the input is wrong (the stack config, a file it names, an option, an output path); 3
amlkit itself failed; 130 interrupted.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from amlkit.specs import ConfigError

EXIT_OK = 0
EXIT_CHECK_FAILED = 1
EXIT_BAD_CONFIG = 2
EXIT_INTERNAL = 3
EXIT_INTERRUPTED = 130
"""Ctrl-C or SIGTERM, as a shell reports a process killed by SIGINT."""

out = Console()
"""Results: tables, trees, the plan; what a user may pipe on."""
err = Console(stderr=True)
"""Problems, progress and notices, so they never mix into a result."""

StackOption = Annotated[
    str,
    typer.Option("--stack", "-s", help="Stack name: reads [bold]stacks/Pulumi.<stack>.yaml[/]."),
]
ProjectOption = Annotated[
    Path | None,
    typer.Option(
        "--project",
        help="Project folder (holds Pulumi.yaml). Default: the nearest one up from here.",
    ),
]


def print_error(message: str) -> None:
    """One `error ...` line on stderr; the message is plain text (no markup), never wrapped,
    so CI logs and greps see one line per problem."""
    err.print(f"[red]error[/] {escape(message)}", highlight=False, soft_wrap=True)


def fail(message: str, code: int = EXIT_BAD_CONFIG) -> typer.Exit:
    """Print `message` as one error line; return the Exit to raise (default: bad input).

    Raise it `from None`: the user reads the line, not a traceback."""
    print_error(message)
    return typer.Exit(code)


def fail_config(error: ConfigError) -> typer.Exit:
    """Print a bad stack config one line per problem, then the count; return exit 2."""
    for problem in error.problems:
        print_error(str(problem))
    count = len(error.problems)
    err.print(
        f"[red]{count} problem{'s' if count != 1 else ''}[/] in the stack config; nothing was rendered."
    )
    return typer.Exit(EXIT_BAD_CONFIG)


def debug() -> bool:
    """AMLKIT_DEBUG set (and not 0): let an amlkit bug's traceback through (default: off)."""
    return os.environ.get("AMLKIT_DEBUG", "") not in ("", "0")
