"""ISO-8601 durations, as ARM wants them, from CLI v2's seconds and milliseconds.

CLI v2 writes probe periods in seconds and request timeouts in milliseconds;
ARM's models take `PT10S`, `PT1M30S`, `PT0.5S` (Azure ML's REST reference).
"""

from __future__ import annotations

from decimal import Decimal


def iso_seconds(seconds: float | int) -> str:
    """`90` -> `PT1M30S`; `0.5` -> `PT0.5S`; `3600` -> `PT1H`; `0` -> `PT0S`."""
    if seconds < 0:
        raise ValueError(f"a duration cannot be negative: {seconds}")
    total = Decimal(str(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    text = "PT"
    if hours:
        text += f"{int(hours)}H"
    if minutes:
        text += f"{int(minutes)}M"
    if secs or text == "PT":
        text += f"{secs.normalize():f}S"
    return text


def iso_milliseconds(milliseconds: int) -> str:
    """`5000` -> `PT5S`; `1500` -> `PT1.5S`."""
    return iso_seconds(Decimal(milliseconds) / 1000)  # type: ignore[arg-type]


def iso_minutes(minutes: int) -> str:
    """`5` -> `PT5M`; `90` -> `PT1H30M`."""
    return iso_seconds(minutes * 60)
