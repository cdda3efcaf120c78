"""The Pulumi dynamic provider that writes an online endpoint's `traffic` and
`mirrorTraffic` to Azure.

- `check` refuses a split that breaks Azure's rules (names only the endpoint's
  deployments, sums to 0 or 100; mirror: one deployment, at most 50%, never one
  with live traffic, never on Kubernetes) before anything is sent.
- `create` and `update` GET the endpoint, set `traffic` and `mirrorTraffic` in
  the body Azure returned (everything else as Azure holds it) and PUT it back,
  waiting on ARM's long-running operation; then GET again and fail unless Azure
  holds the split asked for. The endpoint's ARM PATCH takes only tags and
  identity, so a write of traffic is a PUT of the whole endpoint, as
  `az ml online-endpoint update --traffic` does.
- `diff`: a change of split (zero entries aside) is an in-place update; another
  endpoint is a replace.
- `delete` sets every live and mirrored percentage to zero (the engine deletes
  this resource before the deployments it depends on, so `pulumi destroy` moves
  traffic off before any deployment goes).
- `read` (`pulumi refresh`) takes the split Azure holds into the state, so a
  change made outside Pulumi shows as a diff and the next `up` restores the config's.

How it reaches ARM and survives pickling: `arm_provider.py`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, cast

from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    CreateResult,
    DiffResult,
    ReadResult,
    UpdateResult,
)

from amlkit.specs.online_endpoint import check_traffic

from .arm_client import ArmError
from .arm_provider import (
    ENDPOINT_READ_ONLY_PROPERTIES,
    ENDPOINT_TARGET,
    ArmProvider,
    writable_body,
)

_SPLIT = ("traffic", "mirrorTraffic")


class EndpointTrafficProvider(ArmProvider):
    """Applies one endpoint's live and mirrored traffic split."""

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        failures = [
            CheckFailure(key, f"{key} is required") for key in ENDPOINT_TARGET if not news.get(key)
        ]
        for key in _SPLIT:
            for name, value in (news.get(key) or {}).items():
                if not isinstance(value, int | float) or not float(value).is_integer():
                    failures.append(
                        CheckFailure(
                            key, f"{key}[{name!r}] is {value!r}; Azure takes whole percents"
                        )
                    )
        if failures:
            return CheckResult(news, failures)
        inputs = {**news, **{k: _percentages(news.get(k)) for k in _SPLIT}}
        kind = cast(Literal["managed", "kubernetes"], news.get("endpointKind", "managed"))
        try:
            check_traffic(
                inputs["traffic"], inputs["mirrorTraffic"], news.get("deployments") or [], kind
            )
        except ValueError as problem:
            failures.append(
                CheckFailure("traffic", f"endpoint {news.get('endpointName')}: {problem}")
            )
        return CheckResult(inputs, failures)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        replaces = [k for k in ENDPOINT_TARGET if olds.get(k) != news.get(k)]
        changed = [
            k
            for k in _SPLIT
            if _nonzero(_percentages(olds.get(k))) != _nonzero(_percentages(news.get(k)))
        ]
        return DiffResult(
            changes=bool(replaces or changed), replaces=replaces, delete_before_replace=False
        )

    def create(self, props: dict[str, Any]) -> CreateResult:
        resource_id = endpoint_id(props)
        return CreateResult(resource_id, self._apply(props))

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(self._apply(news))

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        client, resource_id = self._client(), endpoint_id(props)
        endpoint = client.get(resource_id)
        if endpoint is None:
            return  # the endpoint is gone, and its traffic with it
        properties = endpoint.get("properties") or {}
        zero = {
            "traffic": {name: 0 for name in properties.get("traffic") or {}},
            "mirrorTraffic": {name: 0 for name in properties.get("mirrorTraffic") or {}},
        }
        client.put(resource_id, with_split(endpoint, zero["traffic"], zero["mirrorTraffic"]))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        endpoint = self._client().get(endpoint_id(props))
        if endpoint is None:
            return ReadResult(None, {})
        live = _live(endpoint)
        # The state takes Azure's split: after a change made outside Pulumi,
        # `pulumi up --refresh` sees a diff and writes the config's split back.
        return ReadResult(
            id_,
            {
                **props,
                "traffic": live["liveTraffic"],
                "mirrorTraffic": live["liveMirrorTraffic"],
                **live,
            },
        )

    def _apply(self, props: dict[str, Any]) -> dict[str, Any]:
        client, resource_id = self._client(), endpoint_id(props)
        traffic, mirror = (
            _percentages(props.get("traffic")),
            _percentages(props.get("mirrorTraffic")),
        )
        endpoint = client.get(resource_id)
        if endpoint is None:
            raise ArmError(
                f"online endpoint {resource_id} does not exist; its traffic cannot be set"
            )
        client.put(resource_id, with_split(endpoint, traffic, mirror))
        after = client.get(resource_id) or {}
        live = _live(after)
        if (_nonzero(live["liveTraffic"]), _nonzero(live["liveMirrorTraffic"])) != (
            _nonzero(traffic),
            _nonzero(mirror),
        ):
            raise ArmError(
                f"online endpoint {props['endpointName']}: asked for traffic {traffic} and mirror "
                f"{mirror}; Azure holds {live['liveTraffic']} and {live['liveMirrorTraffic']}"
            )
        return {**props, "traffic": traffic, "mirrorTraffic": mirror, **live, "applied": True}


def endpoint_id(props: Mapping[str, Any]) -> str:
    return f"{props['workspaceId']}/onlineEndpoints/{props['endpointName']}"


def with_split(
    endpoint: Mapping[str, Any], traffic: Mapping[str, int], mirror: Mapping[str, int]
) -> dict[str, Any]:
    """The endpoint as Azure returned it, writable fields only, with this split."""
    return writable_body(
        endpoint, ENDPOINT_READ_ONLY_PROPERTIES, traffic=dict(traffic), mirrorTraffic=dict(mirror)
    )


def _live(endpoint: Mapping[str, Any]) -> dict[str, dict[str, int]]:
    properties = endpoint.get("properties") or {}
    return {
        "liveTraffic": _percentages(properties.get("traffic")),
        "liveMirrorTraffic": _percentages(properties.get("mirrorTraffic")),
    }


def _percentages(value: Any) -> dict[str, int]:
    """The engine hands numbers over as floats; Azure wants integers."""
    return {str(k): int(v) for k, v in (value or {}).items()}


def _nonzero(split: Mapping[str, int]) -> dict[str, int]:
    return {k: v for k, v in split.items() if v}
