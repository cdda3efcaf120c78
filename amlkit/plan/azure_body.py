"""The request body Azure receives for an azure-native resource, from its plan inputs.

azure-native turns a resource's inputs into an ARM PUT as follows, and so does this:
- the URL's path parameters (`resourceGroupName`, `workspaceName`, `endpointName`,
  a version's `name` and `version`, ...) are not body; they are exactly the
  parameters of the resource's `get_*` function, read from the installed SDK;
  a few resources also take query parameters (Datastore's `skipValidation`);
- inputs the ARM model has at top level (`location`, `identity`, `sku`, `kind`,
  `tags`, `properties`) stay there; an input that is a member of the model's
  `properties` instead is flattened (azure-native flattens `x-ms-client-flatten` properties, e.g. a
  Workspace's `keyVault` is `properties.keyVault` on the wire);
- a managed identity's `userAssignedIdentities` is a list of ARM ids as an input
  and a map `{id: {}}` on the wire (azure-native v3 converts it).
"""

from __future__ import annotations

import functools
import inspect
import re
from typing import Any

from . import azure_models

# Query parameters azure-native takes as inputs (from the provider's docs).
_QUERY_PARAMETERS = {"Datastore": frozenset({"skipValidation"})}


def resource_name(type_token: str) -> str:
    return type_token.rsplit(":", 1)[-1]


@functools.cache
def path_parameters(type_token: str) -> frozenset[str]:
    """The camelCase path parameters of an azure-native resource's ARM URL."""
    module = _sdk_module(type_token)
    getter = getattr(module, "get_" + _snake(resource_name(type_token)), None)
    if getter is None:
        return frozenset()
    return frozenset(_camel(p) for p in inspect.signature(getter).parameters if p != "opts")


@functools.cache
def sent_api_version(type_token: str) -> str | None:
    """The API version the installed azure-native resource class sends."""
    cls = getattr(_sdk_module(type_token), resource_name(type_token), None)
    if cls is None:
        return None
    # Stated in the constructor's docstring: "Uses Azure REST API version ...".
    match = re.search(
        r"Uses Azure REST API version (\d{4}-\d{2}-\d{2}(?:-preview)?)", inspect.getsource(cls)
    )
    return match.group(1) if match else None


def request_body(type_token: str, inputs: dict[str, Any], model: type) -> dict[str, Any]:
    """The JSON body azure-native PUTs for these inputs (see the module docstring)."""
    skip = path_parameters(type_token) | _QUERY_PARAMETERS.get(
        resource_name(type_token), frozenset()
    )
    top = azure_models.fields(model)
    nested = top.get("properties")
    inner = (
        azure_models.fields(nested.type.cls)
        if nested is not None and isinstance(nested.type, azure_models.ModelOf)
        else {}
    )
    body: dict[str, Any] = {}
    flattened: dict[str, Any] = {}
    for key, value in inputs.items():
        if key in skip:
            continue
        if key not in top and key in inner:
            flattened[key] = value
        else:
            body[key] = value
    if flattened:
        body["properties"] = {**flattened, **body.get("properties", {})}
    if isinstance(body.get("identity"), dict):
        body["identity"] = _identity(body["identity"])
    return body


def _identity(identity: dict[str, Any]) -> dict[str, Any]:
    assigned = identity.get("userAssignedIdentities")
    if isinstance(assigned, list):
        return {**identity, "userAssignedIdentities": {str(i): {} for i in assigned}}
    return identity


def _sdk_module(type_token: str) -> Any:
    import importlib

    _, module, _ = type_token.split(":")
    return importlib.import_module(f"pulumi_azure_native.{module}")


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)
