"""Kubernetes resource quantities (`100m`, `0.5`, `2Gi`, `1e3`), read as Kubernetes reads them.

The grammar is Kubernetes' own (k8s.io/apimachinery `resource.Quantity`): a decimal
number, then a binary suffix (Ki..Ei), a decimal suffix (n, u, m, k, M..E) or an
exponent (`e3`). Written here in a few lines rather than taken from the `kubernetes`
client, whose `parse_quantity` would bring that client and its dependencies into the
specs layer for one function.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator

from .base import _yaml_string

_BINARY = {"Ki": 1, "Mi": 2, "Gi": 3, "Ti": 4, "Pi": 5, "Ei": 6}
_DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
QUANTITY_PATTERN = re.compile(
    r"^(?P<number>[0-9]+(?:\.[0-9]*)?|\.[0-9]+)"
    r"(?P<suffix>Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?[0-9]+)?$"
)


def parse_quantity(text: str) -> Decimal:
    """The quantity's value in base units (cores, bytes); raises ValueError if malformed."""
    match = QUANTITY_PATTERN.match(text.strip())
    if match is None:
        raise ValueError(
            "is not a Kubernetes quantity (e.g. 500m or 2 for CPU, 1500Mi or 2Gi for memory)"
        )
    number = Decimal(match["number"])
    suffix = match["suffix"] or ""
    if suffix in _BINARY:
        return number * (Decimal(1024) ** _BINARY[suffix])
    if suffix in _DECIMAL:
        return number.scaleb(_DECIMAL[suffix])
    return number.scaleb(int(suffix[1:]))


def _check(text: str) -> str:
    parse_quantity(text)
    return text


Quantity = Annotated[str, BeforeValidator(_yaml_string), AfterValidator(_check)]
"""A Kubernetes quantity, kept as written (YAML's `cpu: 1` becomes `"1"`)."""


def _whole(text: str) -> str:
    value = parse_quantity(text)
    if value != value.to_integral_value():
        raise ValueError("GPUs are counted in whole devices")
    return text


GpuCount = Annotated[str, BeforeValidator(_yaml_string), AfterValidator(_whole)]
"""`nvidia.com/gpu`: a whole number of devices."""
