"""Time-to-live values as people write them on the command line (`48h`, `2d`)."""

from __future__ import annotations

import re

_TTL = re.compile(r"^\s*(?P<count>\d+)\s*(?P<unit>h|d)\s*$", re.IGNORECASE)
MAX_TTL_HOURS = 24 * 30
"""The spec's ceiling (`environment.ephemeral.ttl_hours`): 30 days."""


def parse_ttl(text: str) -> int:
    """Hours in `text`: `<n>h` or `<n>d`, from 1 hour to 30 days.

    Raises ValueError with a message naming the value and what is allowed."""
    match = _TTL.match(text)
    if match is None:
        raise ValueError(f"--ttl {text!r}: write hours or days, e.g. 48h or 2d")
    hours = int(match["count"]) * (24 if match["unit"].lower() == "d" else 1)
    if not 1 <= hours <= MAX_TTL_HOURS:
        raise ValueError(f"--ttl {text!r} is {hours} hours; allowed: 1h to {MAX_TTL_HOURS}h (30d)")
    return hours
