"""The one dynamic provider: it survives Pulumi's pickling, and each setting it writes
registers under its own resource type."""

from __future__ import annotations

import base64
import subprocess
import sys
from pathlib import Path

import dill  # type: ignore[import-untyped]
import pytest
from pulumi.dynamic.dynamic import serialize_provider

from amlkit.components.dynamic.batch_default import BatchDefault, BatchEndpointDefault
from amlkit.components.dynamic.endpoint_setting import EndpointSetting, EndpointSettingProvider
from amlkit.components.dynamic.online_traffic import OnlineEndpointTraffic, OnlineTraffic
from tests.azure_standin import standin_credential

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize("setting", [OnlineTraffic(), BatchDefault()])
def test_a_provider_pickles_by_reference_and_loads_in_a_fresh_process(
    setting: EndpointSetting,
) -> None:
    """Pulumi keeps the provider pickled (dill) in the state and loads it in its
    dynamic-provider process: no live client may travel, and the classes must be
    found there by reference."""
    pickled = serialize_provider(EndpointSettingProvider(setting))
    assert b"azure.core" not in base64.b64decode(pickled)  # no live client in it
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "import base64, sys, dill; p = dill.loads(base64.b64decode(sys.argv[1])); "
            "print(type(p).__name__, type(p.setting).__module__, type(p.setting).__name__, "
            "p.setting.collection, p.arm_endpoint, p.credential)",
            pickled,
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    assert out.stdout.split() == [
        "EndpointSettingProvider",
        type(setting).__module__,
        type(setting).__name__,
        setting.collection,
        "None",
        "None",
    ]
    with_target = dill.loads(
        base64.b64decode(
            serialize_provider(EndpointSettingProvider(setting, "https://x", standin_credential))
        )
    )
    assert (with_target.arm_endpoint, with_target.credential) == ("https://x", standin_credential)


def test_each_setting_has_its_own_resource_type() -> None:
    """A plan or a policy tells the traffic and the batch default apart by type."""
    assert OnlineEndpointTraffic._resource_type_name == "dynamic/amlkit:OnlineEndpointTraffic"
    assert BatchEndpointDefault._resource_type_name == "dynamic/amlkit:BatchEndpointDefault"
