"""The endpoint's split on Azure, read and written through ARM by the same provider and
`OnlineTraffic` setting the stack's traffic resource uses (`components/dynamic`): GET
the endpoint, PUT it back with the new `traffic`/`mirrorTraffic`, wait on ARM's
operation, GET again and fail unless Azure holds the split. The provider's `check`
refuses a split Azure would refuse before it is sent."""

from __future__ import annotations

from typing import Any

from azure.core.credentials import TokenCredential
from azure.core.exceptions import AzureError

from amlkit.components.dynamic.arm_client import ArmError
from amlkit.components.dynamic.endpoint_setting import EndpointSettingProvider
from amlkit.components.dynamic.online_traffic import OnlineTraffic

from ..sources import Split
from .endpoint import AzureEndpoint, AzureTargetError


class ArmTraffic:
    """The endpoint's split, read and written by the traffic resource's own provider."""

    def __init__(self, endpoint: AzureEndpoint, credential: TokenCredential, base_url: str):
        self.endpoint = endpoint
        self._provider = EndpointSettingProvider(OnlineTraffic(), base_url, lambda: credential)
        self._props: dict[str, Any] = {
            "workspaceId": endpoint.workspace_id,
            "endpointName": endpoint.name,
            "endpointKind": endpoint.kind,
        }

    def read_split(self) -> Split:
        try:
            read = self._provider.read(self.endpoint.id, dict(self._props))
        except (ArmError, AzureError) as error:
            raise AzureTargetError(f"reading the split of {self.endpoint.name}: {error}") from None
        if read.id is None:
            raise AzureTargetError(f"online endpoint {self.endpoint.id} does not exist")
        outs = read.outs or {}
        return Split(dict(outs["liveTraffic"]), dict(outs["liveMirrorTraffic"]))

    def write_split(self, split: Split) -> None:
        """Live traffic of deployments the split leaves out is written as 0, as `az ml`
        writes it; the mirror is written as the split has it (a PUT replaces it whole:
        a mirror entry of 0 beside live traffic is one Azure's rule refuses)."""
        held = self.read_split()
        names = sorted({*held.traffic, *held.mirror, *split.traffic, *split.mirror})
        news = {
            **self._props,
            # Existence is Azure's to check: the provider checks the split's own rules.
            "deployments": names,
            "traffic": {**{n: 0 for n in held.traffic}, **split.traffic},
            "mirrorTraffic": {n: v for n, v in split.mirror.items() if v},
        }
        checked = self._provider.check({}, news)
        if checked.failures:
            problems = "; ".join(f.reason for f in checked.failures)
            raise AzureTargetError(f"split {dict(split.traffic)} refused: {problems}")
        try:
            self._provider.update(self.endpoint.id, {}, dict(checked.inputs or news))
        except (ArmError, AzureError) as error:
            raise AzureTargetError(f"writing the split of {self.endpoint.name}: {error}") from None
