"""Secret values from config: kept as `SecretStr`, and never a placeholder."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, SecretStr

_PLACEHOLDER = re.compile(
    r"^(|changeme|change-me|password|secret|placeholder|todo|xxx+|\*+|<.*>|\$\{.*\})$",
    re.IGNORECASE,
)


def _refuse_placeholder(value: SecretStr) -> SecretStr:
    if _PLACEHOLDER.match(value.get_secret_value().strip()):
        raise ValueError("is a placeholder; set a real secret with `pulumi config set --secret`")
    return value


NotPlaceholderSecret = Annotated[SecretStr, AfterValidator(_refuse_placeholder)]
"""A secret that must be real: `changeme`, `<...>` and empty values are refused."""
