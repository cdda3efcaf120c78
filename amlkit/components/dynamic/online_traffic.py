"""An online endpoint's `traffic` and `mirrorTraffic`, written once its deployments exist.

- `check` refuses a split that breaks Azure's rules (names only the endpoint's
  deployments, sums to 0 or 100; mirror: one deployment, at most 50%, never one
  with live traffic, never on Kubernetes) before anything is sent; the rules are
  the spec's own (`amlkit.specs.online_endpoint.check_traffic`).
- A change of split (zero entries aside) is an in-place update.
- `delete` sets every live and mirrored percentage to zero: the engine deletes
  this resource before the deployments it depends on, so `pulumi destroy` moves
  traffic off before any deployment goes.

The write itself, and the order the engine gives it: `endpoint_setting.py`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal, cast

import pulumi
import pulumi.dynamic
from pulumi.dynamic import CheckFailure

from amlkit.specs.online_endpoint import check_traffic

from .endpoint_setting import EndpointSetting, EndpointSettingProvider

_SPLIT = ("traffic", "mirrorTraffic")


class OnlineTraffic(EndpointSetting):
    """The live and mirrored traffic split of an online endpoint."""

    collection = "onlineEndpoints"
    what = "traffic"
    resets_on_delete = True
    noun = "online endpoint"

    def check(self, news: Mapping[str, Any]) -> tuple[dict[str, Any], list[CheckFailure]]:
        failures = []
        for key in _SPLIT:
            for name, value in (news.get(key) or {}).items():
                if not isinstance(value, int | float) or not float(value).is_integer():
                    failures.append(
                        CheckFailure(
                            key, f"{key}[{name!r}] is {value!r}; Azure takes whole percents"
                        )
                    )
        if failures:
            return dict(news), failures
        inputs = {**news, **{k: percentages(news.get(k)) for k in _SPLIT}}
        kind = cast(Literal["managed", "kubernetes"], news.get("endpointKind", "managed"))
        try:
            check_traffic(
                inputs["traffic"], inputs["mirrorTraffic"], news.get("deployments") or [], kind
            )
        except ValueError as problem:
            failures.append(
                CheckFailure("traffic", f"endpoint {news.get('endpointName')}: {problem}")
            )
        return inputs, failures

    def changed(self, olds: Mapping[str, Any], news: Mapping[str, Any]) -> bool:
        return any(
            nonzero(percentages(olds.get(k))) != nonzero(percentages(news.get(k))) for k in _SPLIT
        )

    def properties(self, endpoint: Mapping[str, Any], props: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "traffic": percentages(props.get("traffic")),
            "mirrorTraffic": percentages(props.get("mirrorTraffic")),
        }

    def live(self, endpoint: Mapping[str, Any]) -> dict[str, Any]:
        properties = endpoint.get("properties") or {}
        return {
            "liveTraffic": percentages(properties.get("traffic")),
            "liveMirrorTraffic": percentages(properties.get("mirrorTraffic")),
        }

    def mismatch(self, props: Mapping[str, Any], live: Mapping[str, Any]) -> str | None:
        traffic, mirror = percentages(props.get("traffic")), percentages(props.get("mirrorTraffic"))
        held = (nonzero(live["liveTraffic"]), nonzero(live["liveMirrorTraffic"]))
        if held == (nonzero(traffic), nonzero(mirror)):
            return None
        return (
            f"asked for traffic {traffic} and mirror {mirror}; Azure holds "
            f"{live['liveTraffic']} and {live['liveMirrorTraffic']}"
        )

    def refreshed(self, props: Mapping[str, Any], live: Mapping[str, Any]) -> dict[str, Any]:
        # After a change made outside Pulumi, `pulumi up --refresh` sees a diff and
        # writes the config's split back.
        return {
            **props,
            "traffic": live["liveTraffic"],
            "mirrorTraffic": live["liveMirrorTraffic"],
            **live,
        }

    def on_delete(self, endpoint: Mapping[str, Any]) -> dict[str, Any]:
        properties = endpoint.get("properties") or {}
        return {
            "traffic": {name: 0 for name in properties.get("traffic") or {}},
            "mirrorTraffic": {name: 0 for name in properties.get("mirrorTraffic") or {}},
        }


class OnlineEndpointTraffic(pulumi.dynamic.Resource, module="amlkit", name="OnlineEndpointTraffic"):
    """Type `pulumi-python:dynamic/amlkit:OnlineEndpointTraffic`. Its inputs carry the
    split (resource policies and `amlkit plan` read them), its outputs what Azure held
    after the write (stack policies under the CLI read those)."""

    traffic: pulumi.Output[dict[str, int]]
    mirror_traffic: pulumi.Output[dict[str, int]]
    applied: pulumi.Output[bool]
    """True once Azure holds the split; unset in an offline plan, where nothing is written."""
    live_traffic: pulumi.Output[dict[str, int]]
    live_mirror_traffic: pulumi.Output[dict[str, int]]

    def __init__(
        self,
        name: str,
        *,
        workspace_id: pulumi.Input[str],
        endpoint_name: pulumi.Input[str],
        endpoint_kind: Literal["managed", "kubernetes"],
        deployment_names: Sequence[str],
        traffic: Mapping[str, int],
        mirror_traffic: Mapping[str, int],
        rollout: Mapping[str, Any] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        """`rollout`: what the endpoint's `rollout:` section declares (candidate, gate
        metrics, onFailure), carried for policy (aml-endpoint-safe-rollout) and never sent
        to Azure; absent without a section."""
        declared = {"rollout": dict(rollout)} if rollout is not None else {}
        super().__init__(
            EndpointSettingProvider(OnlineTraffic()),
            name,
            {
                **declared,
                "workspaceId": workspace_id,
                "endpointName": endpoint_name,
                "endpointKind": endpoint_kind,
                "deployments": list(deployment_names),
                "traffic": dict(traffic),
                "mirrorTraffic": dict(mirror_traffic),
                "applied": None,
                "liveTraffic": None,
                "liveMirrorTraffic": None,
            },
            opts,
        )


def percentages(value: Any) -> dict[str, int]:
    """The engine hands numbers over as floats; Azure wants integers."""
    return {str(k): int(v) for k, v in (value or {}).items()}


def nonzero(split: Mapping[str, int]) -> dict[str, int]:
    return {k: v for k, v in split.items() if v}
