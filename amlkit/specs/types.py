"""Azure's naming and sizing rules as annotated types, shared by specs and the CLI.

Each pattern carries the Azure rule it encodes; the sources are Azure ML's
`EndpointConfigurations` (azure-ai-ml) and the Azure ML quotas doc.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints

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

# Azure region short names as the ARM API takes them (`westeurope`, `eastus2`).
Location = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9]{2,30}$")]

# VM sizes (`Standard_DS3_v2`; CLI v2 samples also write `STANDARD_DS3_v2`).
VmSize = Annotated[str, StringConstraints(pattern=r"^[A-Za-z]+_[A-Za-z0-9_]+$", max_length=64)]

# Tags: Azure allows 50 per resource, names up to 512 and values up to 256 characters.
TagName = Annotated[str, StringConstraints(min_length=1, max_length=512, pattern=r"^[^<>%&\\?/]+$")]
TagValue = Annotated[str, StringConstraints(max_length=256)]
Tags = Annotated[dict[TagName, TagValue], Field(max_length=50)]

Percent = Annotated[int, Field(ge=0, le=100)]
PositiveInt = Annotated[int, Field(ge=1)]
NonNegativeInt = Annotated[int, Field(ge=0)]

# A user-assigned identity name in this stack (also the Azure resource name).
IdentityName = Annotated[str, StringConstraints(pattern=r"^[a-zA-Z0-9][-a-zA-Z0-9_]{2,127}$")]
