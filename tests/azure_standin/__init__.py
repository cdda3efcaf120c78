"""A stand-in for Azure ML's online and batch endpoint API over HTTPS on 127.0.0.1, for tests."""

from __future__ import annotations

import time
from typing import Any

from azure.core.credentials import AccessToken

from tests.azure_standin.arm import ArmRefusal
from tests.azure_standin.server import API_VERSION, TOKEN, Standin, serve
from tests.azure_standin.state import Change, MLState


class StandinCredential:
    """The test's credential: the token the stand-in accepts (azure-identity's in Azure)."""

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken(TOKEN, int(time.time()) + 3600)


def standin_credential() -> StandinCredential:
    return StandinCredential()


__all__ = [
    "API_VERSION",
    "TOKEN",
    "ArmRefusal",
    "Change",
    "MLState",
    "Standin",
    "StandinCredential",
    "serve",
    "standin_credential",
]
