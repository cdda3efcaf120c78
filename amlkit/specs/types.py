"""Azure's naming and sizing rules as annotated types, shared by specs and the CLI.

Each pattern carries the Azure rule it encodes; the sources are Azure ML's
`EndpointConfigurations` (azure-ai-ml) and the Azure ML quotas doc. Numbers are
strict (YAML's `true` is no count, `2.0` no instance number) and bounded: by
Azure's documented limit where there is one, else by ARM's 32-bit integers.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StringConstraints,
)

from .regions import check_region

# Online/batch endpoint and deployment names: a letter, then letters, digits and
# hyphens, not ending in a hyphen; 3 to 32 characters; endpoint names are unique
# per Azure region.
ENDPOINT_NAME_PATTERN = r"^[a-zA-Z]([-a-zA-Z0-9]*[a-zA-Z0-9])?$"
EndpointName = Annotated[
    str, StringConstraints(pattern=ENDPOINT_NAME_PATTERN, min_length=3, max_length=32)
]
DeploymentName = Annotated[
    str, StringConstraints(pattern=ENDPOINT_NAME_PATTERN, min_length=3, max_length=32)
]

# Compute names: 2 to 16 characters, a letter first, letters, digits and hyphens.
ComputeName = Annotated[
    str, StringConstraints(pattern=r"^[a-zA-Z][-a-zA-Z0-9]*$", min_length=2, max_length=16)
]

# Workspace names: 3 to 33 characters, alphanumeric first, then _ and - allowed.
WorkspaceName = Annotated[str, StringConstraints(pattern=r"^[a-zA-Z0-9][a-zA-Z0-9_-]{2,32}$")]

# Azure region names as the ARM API takes them (`westeurope`, `eastus2`), from Azure's
# published region lists (regions.json, with its sources and date).
Location = Annotated[
    str, StringConstraints(pattern=r"^[a-z][a-z0-9]{2,30}$"), AfterValidator(check_region)
]

# VM sizes (`Standard_DS3_v2`; CLI v2 samples also write `STANDARD_DS3_v2`).
VmSize = Annotated[str, StringConstraints(pattern=r"^[A-Za-z]+_[A-Za-z0-9_]+$", max_length=64)]

# Tags: Azure allows 50 per resource, names up to 512 and values up to 256 characters.
TagName = Annotated[str, StringConstraints(min_length=1, max_length=512, pattern=r"^[^<>%&\\?/]+$")]
TagValue = Annotated[str, StringConstraints(max_length=256)]


def _tag_names_unique(tags: dict[str, str]) -> dict[str, str]:
    """Azure compares tag names without regard to case ("Use tags to organize your Azure
    resources": tag names are case-insensitive), so `Owner` and `owner` are one tag."""
    seen: dict[str, str] = {}
    for name in tags:
        if name.lower() in seen:
            raise ValueError(
                f"tags {seen[name.lower()]!r} and {name!r} are one tag to Azure, which "
                "ignores case in tag names"
            )
        seen[name.lower()] = name
    return tags


Tags = Annotated[dict[TagName, TagValue], Field(max_length=50), AfterValidator(_tag_names_unique)]


def _env_name(name: str) -> str:
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise ValueError(
            "is not an environment variable name: letters, digits and _, not starting "
            "with a digit (what a container's environment takes)"
        )
    return name


def _env_value(value: Any) -> Any:
    """YAML reads `WORKER_COUNT: 2` as a number; a container sees text, so a whole number
    is written out. A boolean or a decimal is refused: `true` could reach the container as
    `true` or `True`, and `1e3` as `1000.0`, not as written."""
    if isinstance(value, bool):
        raise ValueError("is a boolean; quote it ('true' or 'True'): a container sees only text")
    if isinstance(value, float):
        raise ValueError("is a decimal number; quote it: a container sees only text, as written")
    if isinstance(value, int):
        return str(value)
    return value


def _env_text(value: str) -> str:
    if "\x00" in value:
        raise ValueError("holds a NUL character, which no environment variable can carry")
    return value


EnvironmentVariables = dict[
    Annotated[str, AfterValidator(_env_name)],
    Annotated[
        str,
        StringConstraints(strip_whitespace=False),  # a value is data, sent as written
        BeforeValidator(_env_value),
        AfterValidator(_env_text),
    ],
]
"""Variables a deployment's container gets: names as a shell takes them, values text."""

INT32_MAX = 2**31 - 1
"""ARM's integer properties are 32-bit (`format: int32` in Azure's REST API specs for
Microsoft.MachineLearningServices and Microsoft.Insights): the bound of every count
that has no smaller documented limit. Beyond it a number does not reach Azure intact."""

Percent = Annotated[StrictInt, Field(ge=0, le=100)]
PositiveInt = Annotated[StrictInt, Field(ge=1, le=INT32_MAX)]
NonNegativeInt = Annotated[StrictInt, Field(ge=0, le=INT32_MAX)]
Seconds = Annotated[StrictInt, Field(ge=1, le=INT32_MAX)]
"""A duration in whole seconds (ISO-8601 `PT<n>S` in ARM), at least 1."""
Flag = StrictBool
"""`true` or `false` as YAML writes them; never `1`, `"yes"` or `"true"`."""
Fraction = Annotated[StrictFloat, Field(ge=0.0, le=1.0)]
"""A share between 0 and 1 (an integer 0 or 1 is taken as it reads)."""

# A user-assigned identity name in this stack (also the Azure resource name).
IdentityName = Annotated[str, StringConstraints(pattern=r"^[a-zA-Z0-9][-a-zA-Z0-9_]{2,127}$")]
