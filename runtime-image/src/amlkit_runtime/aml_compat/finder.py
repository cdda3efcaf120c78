"""The import hook behind `aml_compat.install()`: a last-resort finder for Azure's names."""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any

# Azure's module name -> the amlkit module that stands in for it.
ALIASES = {
    "azureml.contrib.services.aml_request": "amlkit_runtime.aml_compat.aml_request",
    "azureml.contrib.services.aml_response": "amlkit_runtime.aml_compat.aml_response",
    "azureml_inference_server_http.api.aml_request": "amlkit_runtime.aml_compat.aml_request",
    "azureml_inference_server_http.api.aml_response": "amlkit_runtime.aml_compat.aml_response",
}
# Packages that must exist for the aliases to import; empty stand-ins when absent.
_PACKAGES = {name.rsplit(".", i)[0] for name in ALIASES for i in (1, 2, 3) if name.count(".") >= i}


class _Loader(importlib.abc.Loader):
    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        target = ALIASES.get(spec.name)
        return importlib.import_module(target) if target else None

    def exec_module(self, module: ModuleType) -> None:
        return None


class AzureNamesFinder(importlib.abc.MetaPathFinder):
    """Answers for Azure's helper modules, ahead of any installed copy of them."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname in ALIASES:
            return importlib.machinery.ModuleSpec(fullname, _Loader())
        return None


class AzurePackagesFinder(importlib.abc.MetaPathFinder):
    """Empty packages (`azureml`, `azureml.contrib`, ...) when nothing else provides them."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname in _PACKAGES:
            spec = importlib.machinery.ModuleSpec(fullname, _Loader(), is_package=True)
            spec.submodule_search_locations = []
            return spec
        return None


def install() -> None:
    """Put the module finder first in `sys.meta_path` and the package finder last, once.

    The helper modules are always amlkit's: amlkit-serve hands run() its own request and
    reads its own responses, even where Azure's packages are installed (Flask-based,
    they would not fit). Their packages stay whatever is installed: `azureml` may hold
    azureml-core, which the batch image carries.
    """
    if not any(isinstance(finder, AzureNamesFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, AzureNamesFinder())
        sys.meta_path.append(AzurePackagesFinder())


def rawhttp_requested(run: Callable[..., Any]) -> bool:
    """Whether `run` asked for the raw request (`@rawhttp` from Azure's or amlkit's module)."""
    if getattr(run, "_amlkit_rawhttp", False):
        return True
    # A real Azure package only sets its module flag; honour it if it was imported.
    for name in (
        "azureml.contrib.services.aml_request",
        "azureml_inference_server_http.api.aml_request",
    ):
        module = sys.modules.get(name)
        if (
            module is not None
            and not module.__name__.startswith("amlkit_runtime")
            and getattr(module, "_rawHttpRequested", False)
        ):
            return True
    return False
