"""Secret values from config: kept as `SecretStr`, never a placeholder, never printed.

`holds_secret` is the one test of whether a field can hold a credential, by its
name: the config errors hide such values, and the `secrets-not-plaintext` policy
rule (amlkit.policy.secrets) refuses them in plain text.
"""

from __future__ import annotations

import re
from typing import Annotated
from urllib.parse import parse_qsl, urlsplit

from pydantic import AfterValidator, SecretStr

_PLACEHOLDER = re.compile(
    r"^(|changeme|change-me|password|secret|placeholder|todo|xxx+|\*+|<.*>|\$\{.*\})$",
    re.IGNORECASE,
)

_CREDENTIAL = re.compile(
    r"(password|passwd|pasword|secret|token|connection|credential|sas|apikey|api_key|accesskey|"
    r"access_key|accountkey|account_key|privatekey|private_key|(^|[_:.-])key$|"
    r"service_?uri|webhook_?ur[il])",
    re.IGNORECASE,
)
_CAMEL_KEY = re.compile(r"[a-z0-9]Key$")  # primaryKey, storageAccountKey (case-sensitive)
_NOT_CREDENTIAL = re.compile(
    r"(auth_?mode|ssh_?key_?value|public_?key|key_?vault|token_?auth)", re.IGNORECASE
)
_URL_SECRET_PARAMS = re.compile(
    r"^(sig|code|token|access_token|key|api[-_]?key|secret|password|client_secret)$", re.IGNORECASE
)


def holds_secret(name: str) -> bool:
    """Whether a field or variable called `name` can hold a credential: passwords, keys,
    tokens, connection strings, webhook and service URIs (`admin_password`, `API_KEY`,
    `service_uri`, `storageAccountKey`), misspelled ones too (`admin_pasword`)."""
    named = _CREDENTIAL.search(name) or _CAMEL_KEY.search(name)
    return bool(named) and not _NOT_CREDENTIAL.search(name)


def url_carries_credential(value: str) -> bool:
    """Whether `value` is a URL with a password or a token in it (`https://u:p@host`,
    `...?sig=...`, `...?code=...`), whatever field holds it."""
    if "://" not in value:
        return False
    try:
        parts = urlsplit(value.strip())
    except ValueError:
        return False
    if parts.password:
        return True
    return any(_URL_SECRET_PARAMS.match(k) for k, _ in parse_qsl(parts.query))


def _refuse_placeholder(value: SecretStr) -> SecretStr:
    if _PLACEHOLDER.match(value.get_secret_value().strip()):
        raise ValueError("is a placeholder; set a real secret with `pulumi config set --secret`")
    return value


NotPlaceholderSecret = Annotated[SecretStr, AfterValidator(_refuse_placeholder)]
"""A secret that must be real: `changeme`, `<...>` and empty values are refused."""
