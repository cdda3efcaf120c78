"""Rule 21 (`secrets-not-plaintext`) covers URIs: a webhook's `service_uri` and any URL
with a password or token in it are credentials, refused in plain text in prod."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pulumi
import pytest

from amlkit.plan.policy_check import check_plan
from amlkit.specs.secrets import holds_secret, url_carries_credential
from tests.conftest import ROOT

PROD = ROOT / "policy" / "config" / "prod.json"
EMPTY_PLAN: dict[str, Any] = {"stack": "prod", "project": "amlkit", "resources": [], "outputs": {}}


@pytest.fixture(autouse=True)
def _clean_config() -> Iterator[None]:
    yield
    pulumi.runtime.set_all_config({}, [])


def _violations(config: dict[str, Any], secret_keys: list[str]) -> list[tuple[str, str]]:
    report = check_plan(EMPTY_PLAN, pack_config=PROD, stack_config=config, secret_keys=secret_keys)
    return [(v.level, v.message) for v in report.violations if v.policy == "secrets-not-plaintext"]


def _monitoring(uri: str) -> dict[str, Any]:
    return {
        "amlkit:monitoring": {
            "action_group": {"webhook_receivers": [{"name": "oncall", "service_uri": uri}]}
        }
    }


def test_plain_text_webhook_fails_in_prod() -> None:
    found = _violations(_monitoring("https://hooks.example.com/services/T0/B0/abc"), [])
    assert found == [
        (
            "mandatory",
            "config amlkit:monitoring.action_group.webhook_receivers[0].service_uri holds a "
            "credential in plain text",
        )
    ]


def test_secret_webhook_passes() -> None:
    assert _violations(_monitoring("https://hooks.example.com/x"), ["amlkit:monitoring"]) == []


def test_a_url_with_a_token_fails_whatever_its_field() -> None:
    config = {"app:links": json.dumps({"docs": "https://example.com/d?sig=abc&se=2030"})}
    assert _violations(config, []) == [
        ("mandatory", "config app:links.docs holds a credential in plain text")
    ]
    assert (
        _violations({"app:links": json.dumps({"docs": "https://example.com/d?page=2"})}, []) == []
    )


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("service_uri", True),
        ("serviceUri", True),
        ("webhook_url", True),
        ("admin_password", True),
        ("admin_pasword", True),  # misspelled, still a secret
        ("API_KEY", True),
        ("storageAccountKey", True),
        ("ssh_key_value", False),  # a public key
        ("auth_mode", False),
        ("key_vault", False),
        ("scoring_uri", False),
        ("name", False),
    ],
)
def test_which_names_hold_secrets(name: str, secret: bool) -> None:
    assert holds_secret(name) is secret


@pytest.mark.parametrize(
    ("value", "carries"),
    [
        ("https://user:pw@example.com/x", True),
        ("https://example.com/x?code=abc", True),
        ("https://acct.blob.core.windows.net/c?sv=2022&sig=abc", True),
        ("https://example.com/x?page=1", False),
        ("https://user@example.com/x", False),
        ("not a url", False),
    ],
)
def test_which_urls_carry_credentials(value: str, carries: bool) -> None:
    assert url_carries_credential(value) is carries
