"""`GET /swagger.json?version=2|3|3.1`, as azmlinfsrv answers it.

A user file wins: `swagger.json` or `swagger2.json` (version 2), `swagger3.json`,
`swagger3.1.json` in AML_APP_ROOT. Otherwise the document is generated: the input and
output schemas come from inference-schema's decorators, or are empty objects for an
undecorated run(). An unknown version, or one the decorators do not support, is a 404.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any

from inference_schema.schema_util import (  # type: ignore[import-untyped]
    get_input_schema,
    get_output_schema,
    get_supported_versions,
    is_schema_decorated,
)

VERSIONS = {"2": "2", "2.0": "2", "3": "3", "3.0": "3", "3.1": "3.1"}
_USER_FILES = {
    "2": ("swagger.json", "swagger2.json"),
    "3": ("swagger3.json",),
    "3.1": ("swagger3.1.json",),
}
_ERROR = {"type": "object", "properties": {"message": {"type": "string"}}}


class SwaggerError(Exception):
    """No document for that version; the message says which versions exist."""


class Swagger:
    """Swagger documents of one scoring script, built once."""

    def __init__(
        self, app_root: str, run: Callable[..., Any], *, title: str, version: str, prefix: str
    ) -> None:
        self._docs: dict[str, dict[str, Any]] = {}
        decorated = is_schema_decorated(run)
        supported = (
            {VERSIONS.get(v, v) for v in get_supported_versions(run)}
            if decorated
            else set(VERSIONS.values())
        )
        for canonical, names in _USER_FILES.items():
            user = _read_first(app_root, names)
            if user is not None:
                self._docs[canonical] = user
            elif canonical in supported:
                if decorated:
                    schemas = (get_input_schema(run), get_output_schema(run))
                else:
                    schemas = ({"type": "object", "example": {}}, {"type": "object", "example": {}})
                self._docs[canonical] = _generate(
                    canonical, *schemas, title=title, service_version=version, prefix=prefix
                )

    def get(self, version: str | None) -> dict[str, Any]:
        """The document for `version` (default 2)."""
        wanted = VERSIONS.get(version or "2")
        available = ", ".join(sorted(self._docs))
        if wanted is None:
            raise SwaggerError(
                f"Swagger version [{version}] is not valid. Supported versions: [{available}]."
            )
        if wanted not in self._docs:
            raise SwaggerError(
                f"Swagger version [{version}] is not supported for the scoring script. "
                f"Supported swagger versions: [{available}]."
            )
        return self._docs[wanted]


def _read_first(app_root: str, names: tuple[str, ...]) -> dict[str, Any] | None:
    for name in names:
        try:
            with open(os.path.join(app_root, name), encoding="utf-8") as handle:
                data = json.load(handle)
        except (FileNotFoundError, NotADirectoryError):
            continue
        if isinstance(data, dict):
            return data
    return None


def _generate(
    version: str,
    input_schema: Any,
    output_schema: Any,
    *,
    title: str,
    service_version: str,
    prefix: str,
) -> dict[str, Any]:
    root = f"/{prefix.strip('/')}" if prefix else ""
    info = {
        "title": title,
        "description": f"API specification for the Azure Machine Learning service {title}",
        "version": service_version,
    }
    if version == "2":
        ref = "#/definitions/"
        return {
            "swagger": "2.0",
            "info": info,
            "schemes": ["https"],
            "consumes": ["application/json"],
            "produces": ["application/json"],
            "securityDefinitions": {
                "Bearer": {
                    "type": "apiKey",
                    "name": "Authorization",
                    "in": "header",
                    "description": "For example: Bearer abc123",
                }
            },
            "paths": {
                f"{root}/": {
                    "get": {
                        "operationId": "ServiceHealthCheck",
                        "responses": {
                            "200": {"description": "Healthy", "schema": {"type": "string"}}
                        },
                    }
                },
                f"{root}/score": {
                    "post": {
                        "operationId": "RunMLService",
                        "security": [{"Bearer": []}],
                        "parameters": [
                            {
                                "name": "serviceInputPayload",
                                "in": "body",
                                "schema": {"$ref": f"{ref}ServiceInput"},
                            }
                        ],
                        "responses": {
                            "200": {
                                "description": "The prediction.",
                                "schema": {"$ref": f"{ref}ServiceOutput"},
                            },
                            "default": {
                                "description": "An error.",
                                "schema": {"$ref": f"{ref}ErrorResponse"},
                            },
                        },
                    }
                },
            },
            "definitions": {
                "ServiceInput": input_schema,
                "ServiceOutput": output_schema,
                "ErrorResponse": _ERROR,
            },
        }
    ref = "#/components/schemas/"
    body = {"content": {"application/json": {"schema": {"$ref": f"{ref}ServiceInput"}}}}
    return {
        "openapi": "3.1.0" if version == "3.1" else "3.0.1",
        "info": info,
        "paths": {
            f"{root}/": {
                "get": {
                    "operationId": "ServiceHealthCheck",
                    "responses": {"200": {"description": "Healthy"}},
                }
            },
            f"{root}/score": {
                "post": {
                    "operationId": "RunMLService",
                    "security": [{"Bearer": []}],
                    "requestBody": body,
                    "responses": {
                        "200": {
                            "description": "The prediction.",
                            "content": {
                                "application/json": {"schema": {"$ref": f"{ref}ServiceOutput"}}
                            },
                        },
                        "default": {
                            "description": "An error.",
                            "content": {
                                "application/json": {"schema": {"$ref": f"{ref}ErrorResponse"}}
                            },
                        },
                    },
                }
            },
        },
        "components": {
            "securitySchemes": {
                "Bearer": {"type": "apiKey", "name": "Authorization", "in": "header"}
            },
            "schemas": {
                "ServiceInput": input_schema,
                "ServiceOutput": output_schema,
                "ErrorResponse": _ERROR,
            },
        },
    }
