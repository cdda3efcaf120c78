"""JSON Schema of `stacks/Pulumi.<stack>.yaml`, so editors can check stack configs."""

from __future__ import annotations

from typing import Any

from . import StackSpec
from .stack_config import NAMESPACE

_FILE_REF: dict[str, Any] = {
    "type": "object",
    "description": "A CLI v2 YAML file (path relative to the stack config), with fields to override.",
    "properties": {"file": {"type": "string"}},
    "required": ["file"],
}
_FILE_LISTS = {
    "compute": "ComputeClusterSpec",
    "online_endpoints": "OnlineEndpointSpec",
    "batch_endpoints": "BatchEndpointSpec",
}
_NESTED = {
    "OnlineEndpointSpec": ("OnlineDeploymentSpec",),
    # By `type`: model (or the legacy form without it), or pipeline.
    "BatchEndpointSpec": ("BatchDeploymentSpec", "PipelineBatchDeploymentSpec"),
}


def _or_file(ref: dict[str, Any]) -> dict[str, Any]:
    return {
        "anyOf": [ref, {"type": "string", "description": "path to a CLI v2 YAML file"}, _FILE_REF]
    }


def stack_config_schema() -> dict[str, Any]:
    """The whole stack file: Pulumi's `config:` map with amlkit's sections typed."""
    spec = StackSpec.model_json_schema(mode="validation", ref_template="#/$defs/{model}")
    defs: dict[str, Any] = spec.pop("$defs", {})
    for endpoint, kinds in _NESTED.items():
        props = defs.get(endpoint, {}).get("properties", {})
        if "deployments" in props:
            refs = [{"$ref": f"#/$defs/{kind}"} for kind in kinds]
            props["deployments"]["items"] = _or_file(refs[0] if len(refs) == 1 else {"anyOf": refs})
    properties: dict[str, Any] = {}
    for section, schema in spec["properties"].items():
        if section in _FILE_LISTS:
            schema = {**schema, "items": _or_file(schema["items"])}
        properties[f"{NAMESPACE}:{section}"] = schema
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "amlkit stack config (stacks/Pulumi.<stack>.yaml)",
        "type": "object",
        "properties": {
            "config": {
                "type": "object",
                "properties": properties,
                "required": [f"{NAMESPACE}:environment"],
                # Other namespaces (azure-native:location, pulumi:tags) are Pulumi's.
                "propertyNames": {
                    "anyOf": [{"enum": sorted(properties)}, {"not": {"pattern": f"^{NAMESPACE}:"}}]
                },
            },
            "secretsprovider": {"type": "string"},
            "encryptedkey": {"type": "string"},
        },
        "$defs": defs,
    }
