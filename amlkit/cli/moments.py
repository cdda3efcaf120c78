"""Points in time given on the command line (`--now`): ISO 8601 with a UTC offset."""

from __future__ import annotations

from datetime import UTC, datetime

import typer


def parse_now(text: str | None, option: str = "--now") -> datetime:
    """`text` as an aware UTC time (`2026-12-04T10:00:00Z`); the clock when None."""
    if text is None:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(
            f"{text!r} is not an ISO 8601 time; e.g. 2026-12-04T10:00:00Z", param_hint=option
        ) from None
    if moment.tzinfo is None:
        raise typer.BadParameter(
            f"{text!r} has no UTC offset; add Z (UTC) or +HH:MM", param_hint=option
        )
    return moment.astimezone(UTC)
