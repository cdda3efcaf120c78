"""The stack program, as the Pulumi engine runs it: a bad config stops it before any
resource, with one logged line per problem and no traceback."""

from __future__ import annotations

import asyncio
import logging
import runpy

import pulumi
import pytest
import yaml

from amlkit.plan.mock_engine import Recording, run_program
from tests.conftest import ROOT

PROGRAM = ROOT / "stacks" / "__main__.py"


def _config(stack: str) -> dict[str, object]:
    doc = yaml.safe_load((ROOT / "stacks" / f"Pulumi.{stack}.yaml").read_text())
    config: dict[str, object] = doc["config"]
    return config


def _run_dev(config: dict[str, object] | None = None) -> Recording:
    """The stack program under the mock engine, with the dev stack's config."""
    return run_program(
        lambda: runpy.run_path(str(PROGRAM), run_name="__main__"),
        project="amlkit",
        stack="dev",
        config=config if config is not None else _config("dev"),
    )


def test_bad_config_stops_the_program_with_one_line_per_problem(
    caplog: pytest.LogCaptureFixture,
) -> None:
    config = _config("dev")
    config["amlkit:online_endpoints"][0]["traffic"] = {"blue": 50}  # type: ignore[index]
    config["amlkit:compute"][0]["max_instances"] = 0  # type: ignore[index]
    with caplog.at_level(logging.ERROR), pytest.raises(pulumi.RunError, match="2 problem"):
        _run_dev(config)
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert any(
        "stacks/Pulumi.dev.yaml: online_endpoints[amlkit-dev-score]: traffic sums to 50" in e
        for e in errors
    ), errors
    assert any("compute[cpu-cluster].max_instances = 0" in e for e in errors), errors
    assert not any("Traceback" in e for e in errors)


def test_the_engine_passes_objects_as_json_and_the_program_reads_them() -> None:
    recording = _run_dev()
    assert recording.outputs["workspace"] == "mlw-amlkit-dev"
    assert recording.outputs["online_endpoints"] == {
        "amlkit-dev-score": "https://amlkit-dev-score.westeurope.inference.ml.azure.com/score"
    }


def test_the_program_runs_after_asyncio_run_left_no_event_loop() -> None:
    # asyncio.run() leaves its thread without a current loop; Pulumi's runtime asks for
    # one (found when a test that served over asyncio ran before a plan).
    async def nothing() -> None:
        return None

    asyncio.run(nothing())
    recording = _run_dev()
    assert recording.outputs["workspace"] == "mlw-amlkit-dev"
