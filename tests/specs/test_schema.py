"""The stack config's JSON Schema carries each field's docstring, for editors."""

from __future__ import annotations

from amlkit.specs.schema import stack_config_schema


def test_field_docstrings_become_descriptions() -> None:
    defs = stack_config_schema()["$defs"]
    salt = defs["StackEnvironment"]["properties"]["salt"]["description"]
    assert salt.startswith("Set once when the environment is created")
    traffic = defs["OnlineEndpointSpec"]["properties"]["traffic"]["description"]
    assert traffic == "Deployment name -> percent of live traffic; sums to 0 or 100."


def test_batch_deployments_of_either_kind_pass_the_schema() -> None:
    """An editor checking a stack file accepts a pipeline-component deployment inline,
    and still flags one that is neither kind."""
    import jsonschema

    schema = stack_config_schema()
    deployments: list[dict[str, object]] = [
        {
            "name": "registered",
            "type": "pipeline",
            "component": "azureml:prepare_score:2",
            "settings": {"default_compute": "azureml:cpu-cluster", "force_rerun": True},
        },
        {"name": "model", "model": "azureml:clf:1", "compute": "azureml:cpu-cluster"},
    ]
    config = {
        "config": {
            "amlkit:environment": {"name": "dev", "location": "westeurope"},
            "amlkit:batch_endpoints": [
                {
                    "name": "batch",
                    "defaults": {"deployment_name": "model"},
                    "deployments": deployments,
                }
            ],
        }
    }
    jsonschema.validate(config, schema)
    deployments.append({"name": "neither", "type": "pipeline", "settings": {"nope": 1}})
    assert not jsonschema.Draft202012Validator(schema).is_valid(config)
