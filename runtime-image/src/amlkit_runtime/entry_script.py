"""Load a scoring script the way Azure ML's inference server (azmlinfsrv) does.

Shared by the online server and the batch runner. What azmlinfsrv 1.5.1 does, and
so what this does:
- the module is loaded with `spec_from_file_location("entry_module", join(AML_APP_ROOT,
  entry_script))`, so an absolute path is used as is and a relative one is taken
  under the app root (default `/var/azureml-app`); the app root is appended to
  `sys.path`, and so is the script's own folder (azmlinfsrv relies on the script
  sitting in the app root; a script given by absolute path elsewhere would otherwise
  not find its neighbours);
- it must define `init()` and `run()`; if it has a `driver_module` attribute with a
  `run`, that `run` is used;
- `run()` may not take `*args`, `**kwargs` or positional-only parameters.
`init()` is not called on load: the caller calls it once per process.
"""

from __future__ import annotations

import importlib.util
import inspect
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

DEFAULT_APP_ROOT = "/var/azureml-app"
MODULE_NAME = "entry_module"


class EntryScriptError(ValueError):
    """The scoring script cannot be used; the message is one line naming it."""


@dataclass(frozen=True)
class EntryScript:
    """A loaded scoring script: call `init()` once, then `run(...)` per request or batch."""

    path: Path
    module: ModuleType
    run: Callable[..., Any]
    init_function: Callable[[], Any]

    def init(self) -> None:
        """Call the script's `init()`."""
        self.init_function()


def load_entry_script(
    path: str | os.PathLike[str], *, app_root: str | os.PathLike[str] | None = None
) -> EntryScript:
    """Import `path` (relative paths under `app_root`, default AML_APP_ROOT) and check it.

    Raises `EntryScriptError` when the file is missing, does not import (the
    exception is named in the message), or lacks `init()`/`run()`.
    """
    root = (
        os.fspath(app_root)
        if app_root is not None
        else os.environ.get("AML_APP_ROOT", DEFAULT_APP_ROOT)
    )
    full = Path(os.path.join(root, os.fspath(path)))
    if not full.is_file():
        raise EntryScriptError(f"entry script {str(full)!r} is not a file")
    for folder in (root, str(full.parent)):
        if folder not in sys.path:
            sys.path.append(folder)
    spec = importlib.util.spec_from_file_location(MODULE_NAME, full)
    if spec is None or spec.loader is None:
        raise EntryScriptError(f"entry script {str(full)!r} is not a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[MODULE_NAME] = module
    try:
        spec.loader.exec_module(module)
    except BaseException as exc:
        sys.modules.pop(MODULE_NAME, None)
        text = " ".join(str(exc).split())
        raise EntryScriptError(
            f"entry script {str(full)!r} failed to import: {type(exc).__name__}: {text}"
        ) from exc
    init = getattr(module, "init", None)
    run = getattr(module, "run", None)
    driver = getattr(module, "driver_module", None)
    if driver is not None and callable(getattr(driver, "run", None)):
        run = driver.run
    missing = [name for name, fn in (("init()", init), ("run()", run)) if not callable(fn)]
    if missing:
        raise EntryScriptError(
            f"entry script {str(full)!r} does not define {' and '.join(missing)}: "
            "a scoring script must define init() and run()"
        )
    assert init is not None and run is not None
    for parameter in inspect.signature(run).parameters.values():
        if parameter.kind in (
            inspect.Parameter.VAR_POSITIONAL,
            inspect.Parameter.VAR_KEYWORD,
            inspect.Parameter.POSITIONAL_ONLY,
        ):
            raise EntryScriptError(
                f"entry script {str(full)!r}: run() may not take *args, **kwargs or "
                f"positional-only parameters (has {parameter})"
            )
    return EntryScript(path=full, module=module, run=run, init_function=init)
