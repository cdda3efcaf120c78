"""The `amlkit` command: one sub-command per noun, and the one old spelling kept."""

from __future__ import annotations

from typing import Any

import typer
from typer.core import TyperGroup

from amlkit import __version__

from . import ci, config, cost, env, local, rollout
from .common import EXIT_INTERNAL, EXIT_INTERRUPTED, debug, err, out, print_error
from .plan import plan
from .teardown import teardown


class _Guarded(TyperGroup):
    """The root command group: an exception no command handled is an amlkit bug, so it
    ends as one line and exit 3 (the README's table), never as a traceback and exit 1,
    which CI would read as a failed check; Ctrl-C is 130, as everywhere. AMLKIT_DEBUG=1
    lets the traceback through."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:  # click would call it "Aborted!" and exit 1, a failed check
            err.print("Interrupted.")
            raise typer.Exit(EXIT_INTERRUPTED) from None
        except Exception as error:
            # Exits, aborts and usage errors are click's (typer vendors it from 0.28).
            if type(error).__module__.startswith(("click.", "typer.")) or debug():
                raise
            print_error(f"amlkit failed: {type(error).__name__}: {error}")
            err.print("This is an amlkit bug; rerun with AMLKIT_DEBUG=1 for the traceback.")
            raise typer.Exit(EXIT_INTERNAL) from None


app = typer.Typer(
    cls=_Guarded,
    name="amlkit",
    help="Put ML models into production on Azure Machine Learning with Pulumi.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.command()(plan)
app.add_typer(config.app, name="config")
app.add_typer(local.app, name="local")
app.add_typer(env.app, name="env")
app.add_typer(cost.app, name="cost")
app.add_typer(ci.app, name="ci")
app.add_typer(rollout.app, name="rollout")
app.command()(teardown)

RENAMED = {"local-batch": "local batch"}
"""Old command names, each run as its new one (the same function) for one release after
the rename, hidden from help, with a notice on stderr; delete an entry (and its alias
below) in the release after."""
app.command("local-batch", hidden=True)(local.batch)


@app.callback()
def _notice_renamed(ctx: typer.Context) -> None:
    # The group's callback runs before the sub-command reads its options, so the notice
    # comes first even when those options are wrong.
    new = RENAMED.get(ctx.invoked_subcommand or "")
    if new is not None:
        err.print(
            f"[yellow]warning[/] amlkit {ctx.invoked_subcommand} is deprecated and will be "
            f"removed in the next release; use amlkit {new}",
            highlight=False,
            soft_wrap=True,
        )


@app.command(rich_help_panel="About")
def version() -> None:
    """Print amlkit's version."""
    out.print(f"amlkit {__version__}")


def main() -> None:
    """The `amlkit` console script (and `python -m amlkit`)."""
    app()
