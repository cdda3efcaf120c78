"""A small Azure Resource Manager client: GET, PUT and DELETE of one resource,
waiting on ARM's long-running operations.

Built on `azure-core` (the pipeline: retries on 408/429/5xx with back-off,
request ids, user agent) and `azure-mgmt-core` (ARM's bearer-token policy that
answers continuous-access-evaluation challenges, ARM's error format, and
`ARMPolling`, which follows `Azure-AsyncOperation` or `Location` headers and
honours `Retry-After` until the operation reaches a terminal state).

Why not a generated SDK: `azure-mgmt-machinelearningservices` 1.0.1, the last
release, targets API 2020-08-01 and has no online endpoint operations at all;
azure-ai-ml's private `_restclient` carries them but is not a public API. The
requests are plain ARM, sent with the API version azure-native 3.29 sends for
Microsoft.MachineLearningServices (2025-12-01), so amlkit and azure-native read
and write the same resource shape.

What differs between Azure and the tests is only `base_url` and `credential`:
the tests point it at a stand-in served over TLS on 127.0.0.1 with a static
token (bearer tokens are never sent over plain HTTP, here as in Azure).
"""

from __future__ import annotations

import json
from typing import Any, cast

from azure.core import PipelineClient
from azure.core.credentials import TokenCredential
from azure.core.exceptions import HttpResponseError
from azure.core.pipeline import PipelineResponse
from azure.core.pipeline.policies import (
    HeadersPolicy,
    RequestIdPolicy,
    RetryPolicy,
    UserAgentPolicy,
)
from azure.core.polling import LROPoller
from azure.core.rest import HttpRequest
from azure.mgmt.core.exceptions import ARMErrorFormat
from azure.mgmt.core.policies import ARMChallengeAuthenticationPolicy, ARMHttpLoggingPolicy
from azure.mgmt.core.polling.arm_polling import ARMPolling

PUBLIC_CLOUD = "https://management.azure.com"
ML_API_VERSION = "2025-12-01"
"""Microsoft.MachineLearningServices API version, as azure-native 3.29 sends it."""
ARM_POLLING_SECONDS = 30.0
"""Wait between polls when ARM gives no Retry-After (azure-mgmt-core's default)."""


class ArmError(Exception):
    """ARM refused a request or an operation failed; the message is ARM's own."""


class ArmClient:
    """GET, PUT, DELETE and POST (actions) of ARM resources by id, each write waiting until done."""

    def __init__(
        self,
        credential: TokenCredential,
        base_url: str = PUBLIC_CLOUD,
        *,
        api_version: str = ML_API_VERSION,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_version = api_version
        self._client: PipelineClient[HttpRequest, Any] = PipelineClient(
            base_url=self.base_url,
            policies=[
                RequestIdPolicy(),
                HeadersPolicy({"Accept": "application/json"}),
                UserAgentPolicy(sdk_moniker="amlkit"),
                RetryPolicy(),
                ARMChallengeAuthenticationPolicy(credential, f"{self.base_url}/.default"),
                ARMHttpLoggingPolicy(),
            ],
        )

    def get(self, resource_id: str) -> dict[str, Any] | None:
        """The resource's body, or None when ARM answers 404."""
        response = self._send("GET", resource_id)
        if response.http_response.status_code == 404:
            return None
        self._raise_for_status(response, (200,))
        body: dict[str, Any] = _json(response)
        return body

    def put(self, resource_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """Create or replace the resource; returns its body once provisioning ends."""
        response = self._send("PUT", resource_id, body)
        self._raise_for_status(response, (200, 201, 202))
        return cast(dict[str, Any], self._wait(response, {}))

    def post(self, action_id: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        """Call a resource's action (`.../listKeys`, `.../token`) that answers at once."""
        response = self._send("POST", action_id, body)
        self._raise_for_status(response, (200,))
        answer: dict[str, Any] = _json(response) or {}
        return answer

    def delete(self, resource_id: str, params: dict[str, str] | None = None) -> None:
        """Delete the resource and wait until it is gone; a missing one is not an error.

        `params` adds query parameters (`force=true`, `forceToPurge=true`)."""
        response = self._send("DELETE", resource_id, params=params)
        if response.http_response.status_code in (204, 404):
            return
        self._raise_for_status(response, (200, 202))
        self._wait(response, {"final-state-via": "location"})

    def _send(
        self,
        method: str,
        resource_id: str,
        body: dict[str, Any] | None = None,
        params: dict[str, str] | None = None,
    ) -> PipelineResponse[HttpRequest, Any]:
        request = HttpRequest(
            method,
            f"{self.base_url}{resource_id}",
            params={"api-version": self.api_version, **(params or {})},
            json=body,
        )
        return self._client._pipeline.run(request)

    def _wait(
        self, initial: PipelineResponse[HttpRequest, Any], lro_options: dict[str, str]
    ) -> Any:
        poller: LROPoller[Any] = LROPoller(
            self._client,
            initial,
            _json,
            ARMPolling(ARM_POLLING_SECONDS, lro_options=lro_options or None),
        )
        try:
            return poller.result()
        except HttpResponseError as error:
            raise ArmError(error.message) from None

    @staticmethod
    def _raise_for_status(
        response: PipelineResponse[HttpRequest, Any], expected: tuple[int, ...]
    ) -> None:
        if response.http_response.status_code not in expected:
            error = HttpResponseError(response=response.http_response, error_format=ARMErrorFormat)
            detail = f"{error.error.code}: {error.error.message}" if error.error else error.message
            raise ArmError(
                f"{response.http_request.method} {response.http_request.url.split('?')[0]}: "
                f"{response.http_response.status_code} {detail}"
            )


def _json(response: PipelineResponse[HttpRequest, Any]) -> Any:
    text = response.http_response.text()
    return json.loads(text) if text else None


def not_found(error: Exception) -> bool:
    """Whether an azure-native invoke failed because ARM answered 404 (the resource,
    its workspace or its group does not exist yet): azure-native relays ARM's
    status and code (ResourceNotFound, ParentResourceNotFound, ResourceGroupNotFound)."""
    text = str(error)
    return "NotFound" in text or "404" in text
