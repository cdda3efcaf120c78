"""Smoke requests on Azure: a POST to the endpoint's `scoringUri` with the
`azureml-model-deployment` header, authorised as the endpoint's `auth_mode` asks: a key
(`listKeys`), an Azure ML token (`token`) or a Microsoft Entra token for
`https://ml.azure.com`."""

from __future__ import annotations

from typing import Any

from azure.core import PipelineClient
from azure.core.credentials import TokenCredential
from azure.core.exceptions import AzureError
from azure.core.pipeline.policies import HeadersPolicy, UserAgentPolicy
from azure.core.rest import HttpRequest

from amlkit.components.dynamic.arm_client import ArmClient, ArmError

from .endpoint import AzureEndpoint, AzureTargetError

ML_SCOPE = "https://ml.azure.com/.default"
"""The audience of Microsoft Entra tokens an `aad_token` endpoint accepts."""


class EndpointProber:
    """POSTs to the endpoint's scoring URI, aimed at one deployment by header."""

    def __init__(self, endpoint: AzureEndpoint, arm: ArmClient, credential: TokenCredential):
        self.endpoint = endpoint
        self._arm = arm
        self._credential = credential
        self._scoring: tuple[str, str] | None = None

    def send(self, deployment: str, body: bytes, count: int) -> list[int]:
        uri, authorization = self._scoring or self._resolve()
        # No retry policy: a retried request would hide the failure the smoke phase counts.
        client: PipelineClient[HttpRequest, Any] = PipelineClient(
            base_url=uri,
            policies=[
                HeadersPolicy(
                    {
                        "Authorization": authorization,
                        "Content-Type": "application/json",
                        "azureml-model-deployment": deployment,
                    }
                ),
                UserAgentPolicy(sdk_moniker="amlkit-rollout"),
            ],
        )
        statuses = []
        with client:
            for _ in range(count):
                try:
                    response = client.send_request(HttpRequest("POST", uri, content=body))
                    statuses.append(response.status_code)
                except AzureError:
                    statuses.append(0)
        return statuses

    def _resolve(self) -> tuple[str, str]:
        try:
            held = self._arm.get(self.endpoint.id)
            if held is None:
                raise AzureTargetError(f"online endpoint {self.endpoint.id} does not exist")
            uri = (held.get("properties") or {}).get("scoringUri")
            if not uri:
                raise AzureTargetError(
                    f"online endpoint {self.endpoint.name} has no scoringUri yet (still being "
                    "created?)"
                )
            self._scoring = (uri, f"Bearer {self._secret()}")
        except ArmError as error:
            raise AzureTargetError(f"smoke requests to {self.endpoint.name}: {error}") from None
        return self._scoring

    def _secret(self) -> str:
        if self.endpoint.auth_mode == "key":
            key = self._arm.post(f"{self.endpoint.id}/listKeys").get("primaryKey")
        elif self.endpoint.auth_mode == "aml_token":
            key = self._arm.post(f"{self.endpoint.id}/token").get("accessToken")
        else:
            key = self._credential.get_token(ML_SCOPE).token
        if not key:
            raise AzureTargetError(
                f"online endpoint {self.endpoint.name}: Azure gave no {self.endpoint.auth_mode} "
                "credential for its scoring URI"
            )
        return str(key)
