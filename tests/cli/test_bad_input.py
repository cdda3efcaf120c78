"""Issue 14: a bad stack config never renders. Each case a hostile tester found accepted,
crashing or hanging ends here in exit 2 and one clear line (file, field path, value
unless secret, what is allowed), for `config validate` and `plan` alike."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from amlkit.cli import EXIT_BAD_CONFIG, EXIT_INTERNAL, app
from tests.conftest import ROOT

runner = CliRunner()

Edit = Callable[[str, str], Path]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """The project's Pulumi.yaml and stacks in a temporary folder, pointing at the real
    sample model, scoring code and policy pack configs."""
    shutil.copy(ROOT / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    shutil.copytree(ROOT / "stacks", tmp_path / "stacks")
    (tmp_path / "runtime-image").symlink_to(ROOT / "runtime-image")
    (tmp_path / "policy").symlink_to(ROOT / "policy")
    return tmp_path


@pytest.fixture
def edit(project: Path) -> Edit:
    """Replace one piece of text of the dev stack file (which must hold it)."""

    def _edit(old: str, new: str) -> Path:
        path = project / "stacks" / "Pulumi.dev.yaml"
        text = path.read_text()
        assert old in text, old
        path.write_text(text.replace(old, new, 1))
        return path

    return _edit


def errors(args: list[str], project: Path) -> list[str]:
    """Run amlkit; it must exit 2 and print only `error` lines and the summary."""
    result = runner.invoke(app, [*args, "--project", str(project)])
    assert result.exit_code == EXIT_BAD_CONFIG, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.startswith("error ")]
    assert lines, result.output
    return lines


def validate(project: Path) -> list[str]:
    return errors(["config", "validate", "--stack", "dev"], project)


def plan(project: Path, *extra: str) -> list[str]:
    return errors(["plan", "--stack", "dev", "-q", *extra], project)


DEPLOYMENT = "online_endpoints[amlkit-dev-score].deployments[blue]"
BATCH = "batch_endpoints[amlkit-dev-batch].deployments[classifier]"
ENV = f"{DEPLOYMENT}.environment_variables"

# (old text of stacks/Pulumi.dev.yaml, new text, what the one error line says)
CASES: dict[str, tuple[str, str, str]] = {
    "duplicate traffic key": (
        "        blue: 100",
        "        blue: 50\n        blue: 100",
        "line 33, column 9: is not valid YAML: key 'blue' appears twice in one mapping, "
        "on lines 32 and 33",
    ),
    "second monitoring block": (
        "  amlkit:policy:",
        "  amlkit:monitoring:\n    alerts: {cpu_percent: 50}\n  amlkit:policy:",
        "key 'amlkit:monitoring' appears twice in one mapping, on lines 72 and 78",
    ),
    "upper-case namespace": (
        "  amlkit:monitoring:",
        "  AMLKIT:MONITORING:",
        "AMLKIT:MONITORING: namespace 'AMLKIT' is not amlkit's (`amlkit:`, lower case): this "
        "section would be ignored; did you mean `amlkit:monitoring`?",
    ),
    "namespace with a letter more": (
        "  amlkit:workspace:",
        "  amlkita:workspace:",
        "amlkita:workspace: namespace 'amlkita' is not amlkit's",
    ),
    "section with a typo": (
        "  amlkit:monitoring:",
        "  amlkit:monitorin:",
        "amlkit:monitorin: is not a known section; did you mean `amlkit:monitoring`?",
    ),
    "a boolean as a timeout": (
        "            request_timeout_ms: 5000",
        "            request_timeout_ms: true",
        f"{DEPLOYMENT}.request_settings.request_timeout_ms = True: must be a whole number",
    ),
    "a boolean as an instance count": (
        "          instance_count: 1",
        "          instance_count: true",
        f"{DEPLOYMENT}.instance_count = True: must be a whole number",
    ),
    "a decimal as an instance count": (
        "          instance_count: 1",
        "          instance_count: 2.0",
        f"{DEPLOYMENT}.instance_count = 2.0: must be a whole number",
    ),
    "more instances than Azure has": (
        "          instance_count: 1",
        "          instance_count: 51",
        "instance_count (51) is above Azure's 50 instances per managed deployment",
    ),
    "an integer beyond any limit": (
        "      max_instances: 2",
        f"      max_instances: {10**30}",
        f"compute[cpu-cluster].max_instances = {10**30}: must be less than or equal to 65000",
    ),
    "a region that is not Azure's": (
        "    location: westeurope",
        "    location: mars",
        "environment.location = 'mars': is not an Azure region",
    ),
    "a region with a typo": (
        "    location: westeurope",
        "    location: westeurop",
        "is not an Azure region; did you mean 'westeurope'?",
    ),
    "an absolute scoring script": (
        "            scoring_script: score.py\n          instance_type",
        "            scoring_script: /etc/passwd\n          instance_type",
        f"{DEPLOYMENT}.code_configuration.scoring_script = '/etc/passwd': must be relative to "
        "its folder, not an absolute path",
    ),
    "a scoring script out of its folder": (
        "            scoring_script: score.py\n          instance_type",
        "            scoring_script: ../../../Pulumi.yaml\n          instance_type",
        "climbs out of its folder with `..`",
    ),
    "a code folder that is a file": (
        "            code: ../runtime-image/sample/onlinescoring",
        "            code: ../runtime-image/sample/onlinescoring/score.py",
        "sample/onlinescoring/score.py is not a folder",
    ),
    "a model outside the repository": (
        "            path: ../runtime-image/sample/model\n            name: amlkit-sample-classifier\n"
        "          code_configuration:\n            code: ../runtime-image/sample/onlinescoring",
        "            path: ../../../../../../../etc\n            name: amlkit-sample-classifier\n"
        "          code_configuration:\n            code: ../runtime-image/sample/onlinescoring",
        "leaves the repository",
    ),
    "an output file name that is a folder": (
        "            output_file_name: predictions.csv",
        "            output_file_name: '..'",
        f"{BATCH}.settings.output_file_name = '..': must be a plain file name",
    ),
    "an environment variable named A=B": (
        '            WORKER_COUNT: "2"',
        '            "A=B": "1"',
        f"{ENV}.A=B = 'A=B': is not an environment variable name",
    ),
    "an environment variable without a name": (
        '            WORKER_COUNT: "2"',
        '            "": "1"',
        "is not an environment variable name",
    ),
    "an environment variable set to null": (
        '            WORKER_COUNT: "2"',
        "            WORKER_COUNT: null",
        f"{ENV}.WORKER_COUNT = None: must be text (quote it)",
    ),
    "an environment variable set to a list": (
        '            WORKER_COUNT: "2"',
        "            WORKER_COUNT: [1, 2]",
        f"{ENV}.WORKER_COUNT: must be text (quote it)",
    ),
    "an environment variable holding NUL": (
        '            WORKER_COUNT: "2"',
        '            WORKER_COUNT: "a\\0b"',
        "holds a NUL character, which no environment variable can carry",
    ),
    "an environment variable set to a boolean": (
        '            WORKER_COUNT: "2"',
        "            DEBUG: true",
        f"{ENV}.DEBUG = True: is a boolean; quote it",
    ),
    "an environment variable set to a decimal": (
        '            WORKER_COUNT: "2"',
        "            RATIO: 1e3",
        f"{ENV}.RATIO = 1000.0: is a decimal number; quote it",
    ),
    "two receivers with one name": (
        "      server_errors_per_minute: 20",
        "      server_errors_per_minute: 20\n    action_group:\n      email_receivers:\n"
        "        - {name: oncall, email_address: a@example.com}\n"
        "        - {name: oncall, email_address: b@example.com}",
        "monitoring.action_group: receiver names ['oncall'] appear more than once",
    ),
    "a data collector writing to a local folder": (
        "          app_insights_enabled: true",
        "          app_insights_enabled: true\n          data_collector:\n"
        "            collections:\n              model_inputs:\n"
        "                enabled: true\n                data: {path: ./collected}",
        "data.path ('./collected'): give a datastore URI",
    ),
    "a file name FIFO": (
        "        - name: blue",
        "        - file: ../fifo.yml\n        - name: blue",
        "fifo.yml: is not a regular file (a device, FIFO or socket); amlkit reads only files",
    ),
    "a file that is /dev/zero": (
        "        - name: blue",
        "        - file: /dev/zero\n        - name: blue",
        "online_endpoints[0].deployments[0].file = '/dev/zero': must be a path relative",
    ),
    "a file linked to /dev/zero": (
        "        - name: blue",
        "        - file: ../zero.yml\n        - name: blue",
        "zero.yml: is not a regular file",
    ),
    "a file that is a folder": (
        "        - name: blue",
        "        - file: ../runtime-image\n        - name: blue",
        "runtime-image: is a folder, not a file",
    ),
    "a Kubernetes deployment file under a managed endpoint": (
        "        - name: blue",
        "        - file: ../k8s.yml\n        - name: blue",
        "deployment 'green' is kubernetes but endpoint 'amlkit-dev-score' is managed",
    ),
    "a policy config nested 100,000 deep": (
        "    config: ../policy/config/dev.json",
        "    config: ../deep.json",
        "deep.json: is not valid JSON here: it nests deeper than 64 levels",
    ),
}


def _hostile_files(project: Path) -> None:
    os.mkfifo(project / "fifo.yml")
    (project / "zero.yml").symlink_to("/dev/zero")
    (project / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    (project / "k8s.yml").write_text(
        "$schema: https://azuremlschemas.azureedge.net/latest/kubernetesOnlineDeployment.schema.json\n"
        "name: green\nmodel: azureml:classifier:1\ninstance_type: Standard_DS3_v2\n"
        "instance_count: 1\n"
    )


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("command", ["validate", "plan"])
def test_each_case_is_one_line_and_exit_2(
    project: Path, edit: Edit, case: str, command: str
) -> None:
    old, new, says = CASES[case]
    _hostile_files(project)
    edit(old, new)
    lines = validate(project) if command == "validate" else plan(project)
    hit = [line for line in lines if says in line]
    assert hit, lines
    # The line names the file it is about: the stack file, or the file it names.
    assert "Pulumi.dev.yaml" in hit[0] or any(
        name in hit[0] for name in ("fifo.yml", "zero.yml", "runtime-image", "deep.json")
    ), hit


SECRET = "hunter2-do-not-print"


@pytest.mark.parametrize(
    ("old", "new"),
    [
        # A misspelled secret field: unknown fields never show their value.
        (
            "      idle_time_before_scale_down: 120",
            f"      idle_time_before_scale_down: 120\n      ssh_settings:\n        admin_pasword: {SECRET}",
        ),
        # A secret block of the wrong shape.
        ("      idle_time_before_scale_down: 120", f"      ssh_settings: {SECRET}"),
        # A webhook address that is no URL, and a placeholder one.
        (
            "      server_errors_per_minute: 20",
            "      server_errors_per_minute: 20\n    action_group:\n      webhook_receivers:\n"
            f"        - {{name: hook, service_uri: {SECRET}}}",
        ),
        # A variable whose name says credential, with a bad value.
        ('            WORKER_COUNT: "2"', f'            API_KEY: "{SECRET}\\0"'),
        # A URL with a token, in a field that is no secret.
        ("    name: dev", f"    name: https://x.example.com/?sig={SECRET}"),
    ],
)
def test_secrets_are_never_printed(project: Path, edit: Edit, old: str, new: str) -> None:
    edit(old, new)
    result = runner.invoke(app, ["config", "validate", "--stack", "dev", "--project", str(project)])
    assert result.exit_code == EXIT_BAD_CONFIG, result.output
    assert SECRET not in result.output
    assert "error " in result.output


def test_misspelled_secret_field_names_the_right_one(project: Path, edit: Edit) -> None:
    edit(
        "      idle_time_before_scale_down: 120",
        f"      idle_time_before_scale_down: 120\n      ssh_settings:\n        admin_pasword: {SECRET}",
    )
    (line,) = validate(project)
    assert line.endswith(
        "compute[cpu-cluster].ssh_settings.admin_pasword: is not a known field (check the "
        "spelling against Azure ML CLI v2); did you mean 'admin_password'?"
    ), line


# -- outputs and arguments ---------------------------------------------------------------------


def test_plan_json_into_a_folder(project: Path) -> None:
    (line,) = plan(project, "--json", str(project))
    assert (
        line == f"error --json {project}: is a folder; give a file name, e.g. {project}/plan.json"
    )


def test_plan_json_never_over_an_input(project: Path) -> None:
    stack = project / "stacks" / "Pulumi.dev.yaml"
    before = stack.read_bytes()
    (line,) = plan(project, "--json", str(stack))
    assert line.endswith("is a file this command reads; write the output elsewhere"), line
    assert stack.read_bytes() == before
    policy = project / "policy" / "config" / "dev.json"
    (line,) = plan(project, "--json", str(policy))
    assert "is a file this command reads" in line
    model = project / "runtime-image" / "sample" / "model" / "plan.json"
    (line,) = plan(project, "--json", str(model))
    assert "a folder this command reads" in line
    assert not model.exists()


@pytest.mark.parametrize(
    ("target", "says"),
    [
        ("Pulumi.yaml/plan.json", "Pulumi.yaml is not a folder"),
        ("/proc/amlkit/plan.json", "cannot be written"),
    ],
)
def test_plan_json_unwritable(project: Path, target: str, says: str) -> None:
    path = target if target.startswith("/") else str(project / target)
    (line,) = plan(project, "--json", path)
    assert line.startswith(f"error --json {path}: ") and says in line, line


def test_plan_previous_must_be_a_plan(project: Path, tmp_path: Path) -> None:
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    (line,) = plan(project, "--previous", str(deep))
    assert (
        line == f"error --previous {deep}: is not valid JSON here: it nests deeper than 64 levels"
    )
    other = tmp_path / "other.json"
    other.write_text('{"stack": "dev"}')
    (line,) = plan(project, "--previous", str(other))
    assert "is not an amlkit plan: no `resources` list" in line
    fifo = tmp_path / "plan.fifo"
    os.mkfifo(fifo)
    (line,) = plan(project, "--previous", str(fifo))  # read without waiting for a writer
    assert (
        line
        == f"error --previous {fifo}: is not a regular file (a device, FIFO or socket); amlkit reads only files"
    )


def test_schema_output_checked_and_atomic(tmp_path: Path) -> None:
    result = runner.invoke(app, ["config", "schema", "-o", str(tmp_path)])
    assert result.exit_code == EXIT_BAD_CONFIG
    assert f"error --output {tmp_path}: is a folder" in result.output
    target = tmp_path / "out" / "stack.schema.json"
    result = runner.invoke(app, ["config", "schema", "-o", str(target)])
    assert result.exit_code == 0, result.output
    assert target.read_text().startswith("{")
    assert sorted(p.name for p in target.parent.iterdir()) == ["stack.schema.json"]


def test_local_request_is_bounded(project: Path) -> None:
    result = runner.invoke(
        app,
        [
            "local",
            "serve",
            "--stack",
            "dev",
            "--once",
            "--request",
            "/dev/zero",
            "--project",
            str(project),
        ],
    )
    assert result.exit_code == EXIT_BAD_CONFIG, result.output
    assert "error --request /dev/zero: is not a regular file" in result.output


def test_an_unexpected_exception_is_a_bug_exit_3(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: object, **__: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr("amlkit.specs.load_stack_spec", broken)
    result = runner.invoke(app, ["config", "validate", "--stack", "dev", "--project", str(project)])
    assert result.exit_code == EXIT_INTERNAL
    assert "error amlkit failed: RuntimeError: boom" in result.output
    assert "Traceback" not in result.output


def test_an_interrupt_is_130_not_a_failed_check(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted(*_: object, **__: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("amlkit.specs.load_stack_spec", interrupted)
    result = runner.invoke(app, ["config", "validate", "--stack", "dev", "--project", str(project)])
    assert result.exit_code == 130
    assert "Interrupted." in result.output
