"""Azure's regions, from the list Microsoft publishes (`regions.json`, with its sources
and the date it was taken), so `location: mars` or `westeurop` fails before anything
is sent."""

from __future__ import annotations

import difflib
import json
from functools import cache
from importlib import resources


@cache
def azure_regions() -> frozenset[str]:
    """Every region name of the public, China and US Government clouds in regions.json."""
    text = resources.files(__package__).joinpath("regions.json").read_text(encoding="utf-8")
    clouds = json.loads(text)["clouds"]
    return frozenset(name for cloud in clouds.values() for name in cloud["regions"])


def check_region(value: str) -> str:
    """`value` if it is an Azure region; a ValueError naming the closest ones otherwise."""
    regions = azure_regions()
    if value in regions:
        return value
    close = difflib.get_close_matches(value, sorted(regions), n=3, cutoff=0.75)
    hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    raise ValueError(
        f"is not an Azure region{hint} (amlkit/specs/regions.json lists Azure's published "
        "regions; `az account list-locations --query [].name` lists yours)"
    )
