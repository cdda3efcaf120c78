"""amlkit-serve settings: azmlinfsrv's variables and defaults, amlkit's own, one-line errors."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from amlkit_runtime.serve.azure_env import export_variables, read_config_file
from amlkit_runtime.serve.settings import DEFAULT_MAX_BODY_BYTES, SettingsError, resolve


def test_defaults_are_azmlinfsrv_s() -> None:
    settings = resolve({})
    assert (settings.port, settings.worker_count, settings.scoring_timeout_ms) == (
        5001,
        1,
        3_600_000,
    )
    assert settings.app_root == "/var/azureml-app"
    assert settings.max_body_bytes == DEFAULT_MAX_BODY_BYTES == 100 * 1024 * 1024
    assert settings.max_concurrent_requests == 0 and not settings.microbatching
    assert settings.scoring_threads == 1 and settings.access_log
    assert settings.read_timeout_s == 60.0


def test_flags_win_over_the_environment_and_server_port_is_ignored() -> None:
    env = {
        "WORKER_COUNT": "4",
        "SERVER_PORT": "9999",
        "AZUREML_ENTRY_SCRIPT": "env.py",
        "AML_CORS_ORIGINS": "a, b",
    }
    settings = resolve(env, worker_count=2, entry_script="/abs/score.py")
    assert (settings.worker_count, settings.port, settings.entry_script) == (
        2,
        5001,
        "/abs/score.py",
    )
    assert settings.cors_origins == ("a", "b")
    assert resolve(env).worker_count == 4 and resolve(env).entry_script == "env.py"


def test_amlkit_settings_and_deployment_name() -> None:
    env = {
        "SCORING_TIMEOUT_MS": "5000",
        "AMLKIT_MAX_CONCURRENT_REQUESTS": "3",
        "AMLKIT_MAX_BODY_BYTES": "1024",
        "AMLKIT_MICROBATCH_MAX_WAIT_MS": "2.5",
        "AMLKIT_MICROBATCH_KEY": "input_data",
        "AZUREML_LOG_LEVEL": "warning",
        "AZUREML_DEPLOYMENT_NAME": "green",
        "AMLKIT_READ_TIMEOUT_S": "2.5",
    }
    settings = resolve(env)
    assert settings.read_timeout_s == 2.5
    assert settings.loop_sched_batch and settings.fast_json  # both on by default
    assert not resolve({"AMLKIT_LOOP_SCHED_BATCH": "off", "AMLKIT_FAST_JSON": "0"}).loop_sched_batch
    assert not resolve({"AMLKIT_FAST_JSON": "False"}).fast_json
    assert (
        settings.scoring_timeout_ms,
        settings.max_concurrent_requests,
        settings.max_body_bytes,
    ) == (5000, 3, 1024)
    assert settings.microbatching and settings.microbatch_key == "input_data"
    assert not settings.access_log
    assert settings.deployment_name == "green"
    assert resolve({**env, "AMLKIT_DEPLOYMENT_NAME": "blue"}).deployment_name == "blue"


@pytest.mark.parametrize(
    ("env", "fragment"),
    [
        ({"WORKER_COUNT": "two"}, "WORKER_COUNT='two' is not an integer"),
        ({"WORKER_COUNT": "0"}, "WORKER_COUNT=0 is below 1"),
        ({"SCORING_TIMEOUT_MS": "0"}, "SCORING_TIMEOUT_MS=0 is below 1"),
        (
            {"AMLKIT_MICROBATCH_MAX_WAIT_MS": "-1"},
            "AMLKIT_MICROBATCH_MAX_WAIT_MS=-1 is out of range; give a number >= 0",
        ),
        (
            {"AMLKIT_READ_TIMEOUT_S": "0"},
            "AMLKIT_READ_TIMEOUT_S=0 is out of range; give a number > 0",
        ),
        ({"AMLKIT_READ_TIMEOUT_S": "inf"}, "AMLKIT_READ_TIMEOUT_S=inf is out of range"),
        ({"AMLKIT_GRACEFUL_TIMEOUT_S": "soon"}, "AMLKIT_GRACEFUL_TIMEOUT_S='soon' is not a number"),
        ({"AMLKIT_MAX_BODY_BYTES": "1e6"}, "not an integer"),
        ({"AMLKIT_LOOP_SCHED_BATCH": "maybe"}, "AMLKIT_LOOP_SCHED_BATCH='maybe' is not a switch"),
        ({"AMLKIT_FAST_JSON": "2"}, "AMLKIT_FAST_JSON='2' is not a switch"),
    ],
)
def test_bad_values_are_one_line_errors(env: dict[str, str], fragment: str) -> None:
    with pytest.raises(SettingsError, match="give") as caught:
        resolve(env)
    assert fragment in str(caught.value) and "\n" not in str(caught.value)


def test_azmlinfsrv_s_variables_are_exported_for_the_script(tmp_path: Path) -> None:
    env: dict[str, str] = {"AML_APP_INSIGHTS_KEY": "not-a-uuid", "AML_APP_INSIGHTS_ENABLED": "true"}
    export_variables(
        env, entry_script=str(tmp_path / "s.py"), config_file=None, appinsights_key=None
    )
    assert env["AZUREML_ENTRY_SCRIPT"] == os.path.realpath(tmp_path / "s.py")
    assert env["AML_APP_INSIGHTS_ENABLED"] == "false"  # a key that is not a UUID turns it off
    assert env["HTTP_X_MS_SERVER_VERSION"] == "amlkit-serve/0.1.0"
    key = "0f8fad5b-d9cb-469f-a165-70867728950e"
    quiet = {"SERVER_VERSION_LOG_RESPONSE_ENABLED": "False"}
    export_variables(quiet, entry_script=None, config_file=None, appinsights_key=key)
    assert (quiet["AML_APP_INSIGHTS_ENABLED"], quiet["AML_APP_INSIGHTS_KEY"]) == ("true", key)
    assert "HTTP_X_MS_SERVER_VERSION" not in quiet
    assert resolve(quiet).server_version == ""


def test_config_json_is_read_under_the_environment(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(
        json.dumps({"AZUREML_ENTRY_SCRIPT": "app.py", "SCORING_TIMEOUT_MS": 900, "OTHER": "x"})
    )
    config = read_config_file({"AML_APP_ROOT": str(tmp_path)})
    assert config == {"AZUREML_ENTRY_SCRIPT": "app.py", "SCORING_TIMEOUT_MS": "900"}
    env = {"AML_APP_ROOT": str(tmp_path), "SCORING_TIMEOUT_MS": "100"}
    settings = resolve({**config, **env})
    assert (settings.entry_script, settings.scoring_timeout_ms) == ("app.py", 100)
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(SettingsError, match=r"^config file '.*bad\.json' cannot be read as JSON"):
        read_config_file({"AZUREML_CONFIG_FILE": str(tmp_path / "bad.json")})
    with pytest.raises(SettingsError, match="is not a non-empty file"):
        read_config_file({"AZUREML_CONFIG_FILE": str(tmp_path / "missing.json")})


def test_the_health_port_needs_seperate_health_endpoint() -> None:
    assert resolve({}, health_port=5100).health_port is None  # as azmlinfsrv: ignored
    assert resolve({"SEPERATE_HEALTH_ENDPOINT": "true"}).health_port == 5000
    assert resolve({"SEPERATE_HEALTH_ENDPOINT": "true"}, health_port=5100).health_port == 5100
    with pytest.raises(SettingsError, match="--health_port=5001 is not a TCP port other than"):
        resolve({"SEPERATE_HEALTH_ENDPOINT": "true"}, health_port=5001)
