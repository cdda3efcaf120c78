"""What azmlinfsrv's command line puts in the environment, and its config.json.

azmlinfsrv 1.5.1 (`amlserver.py`) exports, before it loads the script:
- `AZUREML_ENTRY_SCRIPT`: the full path of `--entry_script`;
- `AZUREML_CONFIG_FILE`: the full path of `--config_file`;
- `HTTP_X_MS_SERVER_VERSION`: the server's version, unless
  `SERVER_VERSION_LOG_RESPONSE_ENABLED` is set to something other than "true"; the
  `x-ms-server-version` header then carries whatever that variable holds, if anything;
- `AML_APP_INSIGHTS_ENABLED`: "true" only when a key is given (variable
  `AML_APP_INSIGHTS_KEY` or `--appinsights_instrumentation_key`, which turns it on) and
  is a UUID; "false" in every other case. amlkit-serve sends no telemetry itself: the
  variables are there for scripts that read them;
- `SERVER_PORT`, `HEALTH_PORT` and `WORKER_COUNT`: the ports served and the workers
  (set by the supervisor once it has bound them, see cli.py).

config.json holds the same settings under the variables' names (`AZUREML_ENTRY_SCRIPT`,
`SCORING_TIMEOUT_MS`, ...). It is `AZUREML_CONFIG_FILE`, else `config.json` in
AML_APP_ROOT, else next to the entry script; the environment wins over it, and its
values are settings only: they are not exported to the script's environment (as in
azmlinfsrv), except `AZUREML_MODEL_DIR`, which amlkit-serve always exports.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, MutableMapping
from typing import Any

from amlkit_runtime.serve.settings import DEFAULT_APP_ROOT, SERVER_VERSION, SettingsError

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z", re.I)
# The keys azmlinfsrv reads from config.json (its `alias_mapping`).
CONFIG_KEYS = frozenset(
    {
        "AML_APP_ROOT",
        "AZUREML_SOURCE_DIRECTORY",
        "AZUREML_ENTRY_SCRIPT",
        "SERVICE_NAME",
        "WORKSPACE_NAME",
        "SERVICE_PATH_PREFIX",
        "SERVICE_VERSION",
        "SCORING_TIMEOUT_MS",
        "AZUREML_LOG_LEVEL",
        "AML_APP_INSIGHTS_ENABLED",
        "AML_APP_INSIGHTS_KEY",
        "AML_MODEL_DC_STORAGE_ENABLED",
        "APP_INSIGHTS_LOG_RESPONSE_ENABLED",
        "AML_CORS_ORIGINS",
        "AZUREML_MODEL_DIR",
        "HOSTNAME",
        "AZUREML_DEBUG_PORT",
    }
)


def export_variables(
    env: MutableMapping[str, str],
    *,
    entry_script: str | None,
    config_file: str | None,
    appinsights_key: str | None,
) -> None:
    """Set the variables azmlinfsrv's command line sets, from the flags and `env` itself."""
    if entry_script:
        env["AZUREML_ENTRY_SCRIPT"] = os.path.realpath(entry_script)
    if config_file:
        env["AZUREML_CONFIG_FILE"] = os.path.realpath(config_file)
    enabled = env.get("SERVER_VERSION_LOG_RESPONSE_ENABLED")
    if enabled is None or enabled.lower() == "true":
        env["HTTP_X_MS_SERVER_VERSION"] = SERVER_VERSION
    if appinsights_key is not None:
        env["AML_APP_INSIGHTS_ENABLED"] = "true"
        env["AML_APP_INSIGHTS_KEY"] = appinsights_key
    key = env.get("AML_APP_INSIGHTS_KEY")
    valid = env.get("AML_APP_INSIGHTS_ENABLED") == "true" and key and _UUID.match(key)
    env["AML_APP_INSIGHTS_ENABLED"] = "true" if valid else "false"


def read_config_file(env: Mapping[str, str]) -> dict[str, str]:
    """The settings of config.json (see the module docstring), as strings; {} without one."""
    path = _config_path(env)
    if path is None:
        return {}
    try:
        with open(path, encoding="utf-8") as handle:
            content: Any = json.load(handle)
    except (OSError, ValueError) as exc:
        raise SettingsError(f"config file {path!r} cannot be read as JSON: {exc}") from None
    if not isinstance(content, dict):
        raise SettingsError(f"config file {path!r} must hold a JSON object of settings")
    return {
        key: value if isinstance(value, str) else json.dumps(value)
        for key, value in content.items()
        if key in CONFIG_KEYS and value is not None
    }


def _config_path(env: Mapping[str, str]) -> str | None:
    named = env.get("AZUREML_CONFIG_FILE")
    if named:
        if not _non_empty_file(named):
            raise SettingsError(
                f"--config_file / AZUREML_CONFIG_FILE {named!r} is not a non-empty file"
            )
        return named
    entry = env.get("AZUREML_ENTRY_SCRIPT")
    folders = [
        env.get("AML_APP_ROOT") or DEFAULT_APP_ROOT,
        os.path.dirname(os.path.abspath(entry)) if entry else None,
    ]
    for folder in folders:
        if folder and _non_empty_file(os.path.join(folder, "config.json")):
            return os.path.join(folder, "config.json")
    return None


def _non_empty_file(path: str) -> bool:
    return os.path.isfile(path) and os.path.getsize(path) > 0
