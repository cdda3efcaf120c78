"""What amlkit's dynamic providers share: they survive Pulumi's pickling."""

from __future__ import annotations

import base64
import subprocess
import sys
from pathlib import Path

import dill  # type: ignore[import-untyped]
import pytest
from pulumi.dynamic.dynamic import serialize_provider

from amlkit.components.dynamic.arm_provider import ArmProvider
from amlkit.components.dynamic.batch_defaults import BatchDefaultsProvider
from amlkit.components.dynamic.traffic_provider import EndpointTrafficProvider
from tests.azure_standin import standin_credential

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("provider_class", [EndpointTrafficProvider, BatchDefaultsProvider])
def test_a_provider_pickles_by_reference_and_loads_in_a_fresh_process(
    provider_class: type[ArmProvider],
) -> None:
    """Pulumi keeps the provider pickled (dill) in the state and loads it in its
    dynamic-provider process: no live client may travel, and the class must be
    found there by reference."""
    pickled = serialize_provider(provider_class())
    assert b"azure.core" not in base64.b64decode(pickled)  # no live client in it
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "import base64, sys, dill; p = dill.loads(base64.b64decode(sys.argv[1])); "
            "print(type(p).__module__, type(p).__name__, p.arm_endpoint, p.credential)",
            pickled,
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    assert out.stdout.split() == [
        provider_class.__module__,
        provider_class.__name__,
        "None",
        "None",
    ]
    with_target = dill.loads(
        base64.b64decode(serialize_provider(provider_class("https://x", standin_credential)))
    )
    assert (with_target.arm_endpoint, with_target.credential) == ("https://x", standin_credential)
