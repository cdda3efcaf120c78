"""Settings of amlkit-serve: azmlinfsrv's flags and variables, plus amlkit's own.

Precedence as in azmlinfsrv: a command-line flag, else the environment variable,
else the default. Every default is azmlinfsrv 1.5.1's unless marked amlkit.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

DEFAULT_PORT = 5001  # azmlinfsrv's
DEFAULT_HEALTH_PORT = 5000  # azmlinfsrv's, served only with SEPERATE_HEALTH_ENDPOINT=true
DEFAULT_APP_ROOT = "/var/azureml-app"  # azmlinfsrv's
DEFAULT_SCORING_TIMEOUT_MS = 3_600_000  # azmlinfsrv's SCORING_TIMEOUT_MS
DEFAULT_MAX_BODY_BYTES = 100 * 1024 * 1024  # amlkit: azmlinfsrv has no limit at all
DEFAULT_GRACEFUL_TIMEOUT_S = 30.0  # gunicorn's graceful timeout, which azmlinfsrv inherits
DEFAULT_KEEP_ALIVE_S = 65.0  # amlkit: azmlinfsrv keeps no connection alive
DEFAULT_READ_TIMEOUT_S = 60.0  # amlkit: azmlinfsrv waits for a slow client for ever
SERVER_VERSION = "amlkit-serve/0.1.0"


class SettingsError(ValueError):
    """A setting has a value that cannot be used; the message names it and the fix."""


@dataclass(frozen=True)
class ServeSettings:
    """Everything a worker needs to serve one scoring script."""

    entry_script: str | None
    """AZUREML_ENTRY_SCRIPT / --entry_script; relative paths are under app_root. None: `import main`."""
    model_dir: str | None
    """AZUREML_MODEL_DIR / --model_dir; exported to the script's environment."""
    app_root: str = DEFAULT_APP_ROOT
    """AML_APP_ROOT: where relative entry scripts and swagger*.json files live."""
    host: str = "0.0.0.0"
    """AMLKIT_HOST: the address to bind (azmlinfsrv always binds 0.0.0.0)."""
    port: int = DEFAULT_PORT
    health_port: int | None = None
    """--health_port (default 5000) when SEPERATE_HEALTH_ENDPOINT=true [sic, azmlinfsrv's
    spelling]: a second port serving the same routes, as azmlinfsrv's gunicorn binds it.
    None: no second port (HEALTH_PORT in the environment is ignored, as in azmlinfsrv)."""
    worker_count: int = 1
    """WORKER_COUNT / --worker_count: worker processes, each running init() once."""
    scoring_timeout_ms: int = DEFAULT_SCORING_TIMEOUT_MS
    """SCORING_TIMEOUT_MS: longest time a /score request may take (queue wait + run())."""
    max_concurrent_requests: int = 0
    """AMLKIT_MAX_CONCURRENT_REQUESTS: /score requests in progress across all workers; more get 429. 0: no limit."""
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    """AMLKIT_MAX_BODY_BYTES: larger bodies get 413. Default 100 MiB."""
    scoring_threads: int = 1
    """AMLKIT_SCORING_THREADS: threads calling run() per worker. Default 1, so that run() is never
    called concurrently inside one process, as under azmlinfsrv's sync workers."""
    microbatch_max_wait_ms: float = 0.0
    """AMLKIT_MICROBATCH_MAX_WAIT_MS: > 0 turns micro-batching on. Default 0 (off)."""
    microbatch_max_rows: int = 512
    """AMLKIT_MICROBATCH_MAX_ROWS: most rows in one gathered run() call. Default 512."""
    microbatch_key: str = "data"
    """AMLKIT_MICROBATCH_KEY: the JSON key holding the list of rows. Default `data`."""
    fast_json: bool = True
    """AMLKIT_FAST_JSON: `json.loads` in the script parses with orjson (same results; see fast_json.py).
    Default on; 0 turns it off."""
    loop_sched_batch: bool = True
    """AMLKIT_LOOP_SCHED_BATCH: the event loop thread runs in SCHED_BATCH, so that its wake-ups do
    not preempt run() (Linux; see sched.py). Default on; 0 turns it off."""
    log_level: str = "INFO"
    """AZUREML_LOG_LEVEL: below WARNING, one JSON access line is written per request."""
    cors_origins: tuple[str, ...] = ()
    """AML_CORS_ORIGINS / --access_control_allow_origins: comma-separated allowed origins."""
    deployment_name: str = ""
    """AMLKIT_DEPLOYMENT_NAME, else Azure's AZUREML_DEPLOYMENT_NAME / DEPLOYMENT_NAME; in logs and metrics."""
    service_name: str = "ML service"
    service_version: str = "1.0"
    service_path_prefix: str = ""
    server_version: str = SERVER_VERSION
    """The x-ms-server-version header: amlkit-serve's version, unless SERVER_VERSION_LOG_RESPONSE_ENABLED
    is set to something other than "true"; then HTTP_X_MS_SERVER_VERSION, or no header (as azmlinfsrv)."""
    graceful_timeout_s: float = DEFAULT_GRACEFUL_TIMEOUT_S
    """AMLKIT_GRACEFUL_TIMEOUT_S: how long SIGTERM waits for in-flight requests."""
    keep_alive_s: float = DEFAULT_KEEP_ALIVE_S
    """AMLKIT_KEEP_ALIVE_S: an idle connection (kept alive, or new and silent) is closed after
    this many seconds. Default 65: longer than the usual 60 s idle timeout of load balancers,
    so the server is never the side that closes a connection the balancer is about to reuse.
    (azmlinfsrv closes every connection after one request.)"""
    read_timeout_s: float = DEFAULT_READ_TIMEOUT_S
    """AMLKIT_READ_TIMEOUT_S: a request (line, headers, body) must arrive within this many
    seconds of its first bytes, else 408 and the connection is closed (see protocol.py).
    azmlinfsrv has none: a slow client holds one of its workers."""

    @property
    def microbatching(self) -> bool:
        """Whether concurrent requests are gathered into one run() call."""
        return self.microbatch_max_wait_ms > 0

    @property
    def access_log(self) -> bool:
        """One JSON line per request unless the log level is WARNING or quieter."""
        return self.log_level.upper() in ("DEBUG", "INFO", "NOTSET")


def _int(env: Mapping[str, str], name: str, default: int, *, minimum: int = 0) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(
            f"{name}={raw!r} is not an integer; give a whole number >= {minimum}"
        ) from None
    if value < minimum:
        raise SettingsError(f"{name}={value} is below {minimum}; give a whole number >= {minimum}")
    return value


def _float(env: Mapping[str, str], name: str, default: float, *, positive: bool = False) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    allowed = "a number > 0" if positive else "a number >= 0"
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a number; give {allowed}") from None
    if not math.isfinite(value) or value < 0 or (positive and value == 0):
        raise SettingsError(f"{name}={raw} is out of range; give {allowed}")
    return value


_ON = ("1", "true", "yes", "on")
_OFF = ("0", "false", "no", "off")


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in _ON or raw in _OFF:
        return raw in _ON
    raise SettingsError(f"{name}={env[name]!r} is not a switch; give 1 or 0 (true/false, on/off)")


def resolve(
    env: Mapping[str, str],
    *,
    entry_script: str | None = None,
    model_dir: str | None = None,
    port: int | None = None,
    worker_count: int | None = None,
    cors_origins: str | None = None,
    health_port: int | None = None,
) -> ServeSettings:
    """Layer flags over the environment over defaults, and check every value.

    As in azmlinfsrv, SERVER_PORT in the environment is ignored: only `--port` moves the port.
    """
    origins = cors_origins if cors_origins is not None else env.get("AML_CORS_ORIGINS", "")
    workers = worker_count if worker_count is not None else _int(env, "WORKER_COUNT", 1, minimum=1)
    if workers < 1:
        raise SettingsError(f"--worker_count={workers} is below 1; give at least 1 worker")
    chosen_port = port if port is not None else DEFAULT_PORT
    if not 0 <= chosen_port <= 65535:
        raise SettingsError(f"--port={chosen_port} is not a TCP port; give 0-65535")
    separate_health = env.get("SEPERATE_HEALTH_ENDPOINT") == "true"
    chosen_health = (health_port or DEFAULT_HEALTH_PORT) if separate_health else None
    if chosen_health is not None and not (
        0 <= chosen_health <= 65535 and (chosen_health != chosen_port or chosen_port == 0)
    ):
        raise SettingsError(
            f"--health_port={chosen_health} is not a TCP port other than --port; give 0-65535, not {chosen_port}"
        )
    version_enabled = env.get("SERVER_VERSION_LOG_RESPONSE_ENABLED")
    server_version = (
        SERVER_VERSION
        if version_enabled is None or version_enabled.lower() == "true"
        else env.get("HTTP_X_MS_SERVER_VERSION", "")
    )
    return ServeSettings(
        entry_script=entry_script or env.get("AZUREML_ENTRY_SCRIPT") or None,
        model_dir=model_dir or env.get("AZUREML_MODEL_DIR") or None,
        app_root=env.get("AML_APP_ROOT") or DEFAULT_APP_ROOT,
        host=env.get("AMLKIT_HOST") or "0.0.0.0",
        port=chosen_port,
        health_port=chosen_health,
        worker_count=workers,
        scoring_timeout_ms=_int(env, "SCORING_TIMEOUT_MS", DEFAULT_SCORING_TIMEOUT_MS, minimum=1),
        max_concurrent_requests=_int(env, "AMLKIT_MAX_CONCURRENT_REQUESTS", 0),
        max_body_bytes=_int(env, "AMLKIT_MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES, minimum=1),
        scoring_threads=_int(env, "AMLKIT_SCORING_THREADS", 1, minimum=1),
        microbatch_max_wait_ms=_float(env, "AMLKIT_MICROBATCH_MAX_WAIT_MS", 0.0),
        microbatch_max_rows=_int(env, "AMLKIT_MICROBATCH_MAX_ROWS", 512, minimum=1),
        microbatch_key=env.get("AMLKIT_MICROBATCH_KEY") or "data",
        fast_json=_flag(env, "AMLKIT_FAST_JSON", True),
        loop_sched_batch=_flag(env, "AMLKIT_LOOP_SCHED_BATCH", True),
        log_level=(env.get("AZUREML_LOG_LEVEL") or "INFO").upper(),
        cors_origins=tuple(o.strip() for o in origins.split(",") if o.strip()),
        deployment_name=env.get("AMLKIT_DEPLOYMENT_NAME")
        or env.get("AZUREML_DEPLOYMENT_NAME")
        or env.get("DEPLOYMENT_NAME")
        or "",
        service_name=env.get("SERVICE_NAME") or "ML service",
        service_version=env.get("SERVICE_VERSION") or "1.0",
        service_path_prefix=env.get("SERVICE_PATH_PREFIX") or "",
        server_version=server_version,
        graceful_timeout_s=_float(env, "AMLKIT_GRACEFUL_TIMEOUT_S", DEFAULT_GRACEFUL_TIMEOUT_S),
        keep_alive_s=_float(env, "AMLKIT_KEEP_ALIVE_S", DEFAULT_KEEP_ALIVE_S, positive=True),
        read_timeout_s=_float(env, "AMLKIT_READ_TIMEOUT_S", DEFAULT_READ_TIMEOUT_S, positive=True),
    )
