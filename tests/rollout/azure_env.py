"""What the Azure rollout tests share: a clock that moves only when slept on (bakes
and Azure Monitor's lag take no real time), and an online endpoint set up in the
Azure stand-in through ARM, as `pulumi up` would have left it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from amlkit.components.dynamic.arm_client import ArmClient

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SUBSCRIPTION = "00000000-0000-0000-0000-000000000001"


class FakeClock:
    """`sources.Clock` whose time passes only when slept on; every sleep is kept."""

    def __init__(self, start: datetime = START) -> None:
        self.moment = start
        self.slept: list[float] = []

    def now(self) -> datetime:
        return self.moment

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.moment += timedelta(seconds=max(seconds, 0))


def workspace_id(resource_group: str, workspace: str) -> str:
    return (
        f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{resource_group}"
        f"/providers/Microsoft.MachineLearningServices/workspaces/{workspace}"
    )


def make_endpoint(
    arm: ArmClient,
    endpoint_id: str,
    traffic: dict[str, int],
    *,
    auth_mode: str = "Key",
) -> None:
    """PUT the endpoint, its deployments (the split's names), then the split."""

    def put(split: dict[str, int]) -> None:
        arm.put(
            endpoint_id,
            {
                "location": "westeurope",
                "kind": "Managed",
                "identity": {"type": "SystemAssigned"},
                "properties": {"authMode": auth_mode, "traffic": split},
            },
        )

    put({})
    for name in traffic:
        arm.put(
            f"{endpoint_id}/deployments/{name}",
            {"location": "westeurope", "properties": {"endpointComputeType": "Managed"}},
        )
    put(traffic)
