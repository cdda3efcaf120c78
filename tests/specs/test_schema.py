"""The stack config's JSON Schema carries each field's docstring, for editors."""

from __future__ import annotations

from amlkit.specs.schema import stack_config_schema


def test_field_docstrings_become_descriptions() -> None:
    defs = stack_config_schema()["$defs"]
    salt = defs["StackEnvironment"]["properties"]["salt"]["description"]
    assert salt.startswith("Set once when the environment is created")
    traffic = defs["OnlineEndpointSpec"]["properties"]["traffic"]["description"]
    assert traffic == "Deployment name -> percent of live traffic; sums to 0 or 100."
