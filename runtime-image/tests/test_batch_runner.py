"""amlkit-batch, run for real: the CLI in a subprocess, worker processes, files on disk.

The scoring scripts here are small and import nothing heavy, so that each run
takes well under a second; what they do (record batches, fail, hang) is what
each test is about. The sample model's end-to-end run is in test_batch_sample.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

BATCH = [sys.executable, "-m", "amlkit_runtime.batch.cli"]
SUMMARY = "amlkit_batch_summary.json"
FAILURES = "amlkit_batch_failures.jsonl"

# Records every mini-batch it gets and returns one row per file.
RECORDING = """
import json, os

def init():
    with open(os.path.join(os.environ["RECORD"], "inits"), "a") as f:
        f.write(f"{os.getpid()}\\n")

def run(mini_batch):
    with open(os.path.join(os.environ["RECORD"], "batches"), "a") as f:
        f.write(json.dumps(mini_batch) + "\\n")
    return [[os.path.basename(p), open(p).read().strip()] for p in mini_batch]
"""


def make_inputs(folder: Path, count: int, prefix: str = "in") -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for i in range(count):
        path = folder / f"{prefix}{i:03d}.txt"
        path.write_text(f"value-{i}\n")
        files.append(path)
    return files


def write_script(tmp_path: Path, source: str, name: str = "score.py") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(source))
    return path


def run_cli(
    *args: str | Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("AZUREML_", "AML_"))}
    full_env.update(env or {})
    return subprocess.run(
        [*BATCH, *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        env=full_env,
    )


def batch(
    tmp_path: Path, script: Path, inputs: Path, *extra: str, out: str = "out"
) -> tuple[subprocess.CompletedProcess[str], Path]:
    record = tmp_path / "record"
    record.mkdir(exist_ok=True)
    output = tmp_path / out
    done = run_cli(
        "--entry_script", script, "--input", inputs, "--output", output,
        "--summary_format", "json", "-e", f"RECORD={record}", *extra,
    )  # fmt: skip
    return done, output


def summary_of(output: Path) -> dict[str, object]:
    data: dict[str, object] = json.loads((output / SUMMARY).read_text())
    return data


def failures_of(output: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in (output / FAILURES).read_text().splitlines()]


def recorded_batches(tmp_path: Path) -> list[list[str]]:
    lines = (tmp_path / "record" / "batches").read_text().splitlines()
    return [json.loads(line) for line in lines]


def test_mini_batch_size_is_honoured_and_rows_keep_input_order(tmp_path: Path) -> None:
    files = make_inputs(tmp_path / "data", 7)
    script = write_script(tmp_path, RECORDING)
    done, out = batch(tmp_path, script, tmp_path / "data", "--mini_batch_size", "3")
    assert done.returncode == 0, done.stderr
    got = recorded_batches(tmp_path)
    assert [len(b) for b in got] == [3, 3, 1]
    assert [p for b in got for p in b] == [str(f) for f in files]
    lines = (out / "predictions.csv").read_text().splitlines()
    assert lines == [f"in{i:03d}.txt value-{i}" for i in range(7)]
    summary = json.loads(done.stdout)
    assert summary == summary_of(out)
    assert (summary["files"], summary["rows"], summary["mini_batches"]) == (7, 7, 3)
    assert summary["status"] == "succeeded"
    assert failures_of(out) == []


def test_defaults_are_azure_mls(tmp_path: Path) -> None:
    make_inputs(tmp_path / "data", 25)
    done, out = batch(tmp_path, write_script(tmp_path, RECORDING), tmp_path / "data")
    assert done.returncode == 0, done.stderr
    assert [len(b) for b in recorded_batches(tmp_path)] == [10, 10, 5]
    settings = summary_of(out)["settings"]
    assert isinstance(settings, dict)
    expected = {
        "mini_batch_size": 10,
        "max_concurrency_per_instance": 1,
        "error_threshold": -1,
        "max_retries": 3,
        "timeout": 30.0,
        "output_action": "append_row",
        "output_file_name": "predictions.csv",
        "logging_level": "info",
    }
    assert {k: settings[k] for k in expected} == expected
    assert len((tmp_path / "record" / "inits").read_text().split()) == 1


def test_workers_run_concurrently_and_each_calls_init_once(tmp_path: Path) -> None:
    """Two mini-batches that each wait for the other can only finish side by side."""
    make_inputs(tmp_path / "data", 4)
    script = write_script(
        tmp_path,
        RECORDING
        + """
import time
def run(mini_batch, _record=run):
    marks = os.path.join(os.environ["RECORD"], "marks")
    os.makedirs(marks, exist_ok=True)
    open(os.path.join(marks, str(os.getpid())), "w").close()
    deadline = time.monotonic() + 20
    while len(os.listdir(marks)) < 2:
        if time.monotonic() > deadline:
            raise RuntimeError("no second worker ran alongside")
        time.sleep(0.01)
    return _record(mini_batch)
""",
    )
    done, out = batch(
        tmp_path, script, tmp_path / "data",
        "--mini_batch_size", "1", "--max_concurrency_per_instance", "2", "--max_retries", "0",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    inits = (tmp_path / "record" / "inits").read_text().split()
    assert len(inits) == len(set(inits)) == 2
    assert summary_of(out)["rows"] == 4


def test_a_failing_mini_batch_is_retried(tmp_path: Path) -> None:
    make_inputs(tmp_path / "data", 4)
    script = write_script(
        tmp_path,
        RECORDING
        + """
_record = run
def run(mini_batch):
    seen = os.path.join(os.environ["RECORD"], "seen-" + os.path.basename(mini_batch[0]))
    if not os.path.exists(seen):
        open(seen, "w").close()
        raise ValueError("first try fails")
    return _record(mini_batch)
""",
    )
    done, out = batch(tmp_path, script, tmp_path / "data", "--mini_batch_size", "2")
    assert done.returncode == 0, done.stderr
    summary = summary_of(out)
    assert (summary["retries"], summary["rows"], summary["files_failed"]) == (2, 4, 0)
    assert failures_of(out) == []
    assert "first try fails" in done.stderr  # logged as a warning


def test_retries_are_bounded_and_the_report_says_how_many_tries(tmp_path: Path) -> None:
    make_inputs(tmp_path / "data", 3)
    script = write_script(
        tmp_path,
        RECORDING
        + """
_record = run
def run(mini_batch):
    if any("in001" in p for p in mini_batch):
        raise ValueError("bad file")
    return _record(mini_batch)
""",
    )
    done, out = batch(
        tmp_path, script, tmp_path / "data", "--mini_batch_size", "1", "--max_retries", "2"
    )
    assert done.returncode == 0, done.stderr
    [failure] = failures_of(out)
    assert failure["file"] == str(tmp_path / "data" / "in001.txt")
    assert failure["tries"] == 3
    assert failure["errors"] == ["ValueError: bad file"] * 3
    tried = [b[0] for b in recorded_batches(tmp_path)]
    assert sorted(tried) == [str(tmp_path / "data" / f"in00{i}.txt") for i in (0, 2)]


def test_a_hanging_mini_batch_is_killed_retried_then_failed(tmp_path: Path) -> None:
    make_inputs(tmp_path / "data", 3)
    script = write_script(
        tmp_path,
        RECORDING
        + """
import time
_record = run
def run(mini_batch):
    if any("in001" in p for p in mini_batch):
        with open(os.path.join(os.environ["RECORD"], "hung"), "a") as f:
            f.write(f"{os.getpid()}\\n")
        time.sleep(600)
    return _record(mini_batch)
""",
    )
    done, out = batch(
        tmp_path, script, tmp_path / "data",
        "--mini_batch_size", "1", "--timeout", "1", "--max_retries", "1",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    summary = summary_of(out)
    assert (summary["timeouts"], summary["rows"], summary["files_failed"]) == (2, 2, 1)
    [failure] = failures_of(out)
    assert failure["tries"] == 2
    assert str(failure["error"]).startswith("TimeoutError: run() took more than 1 s")
    hung = [int(p) for p in (tmp_path / "record" / "hung").read_text().split()]
    assert len(set(hung)) == 2  # each try ran in a fresh worker (init() again)
    for pid in hung:  # the stuck workers were really stopped
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_a_worker_that_dies_is_replaced_and_its_batch_retried(tmp_path: Path) -> None:
    make_inputs(tmp_path / "data", 2)
    script = write_script(
        tmp_path,
        RECORDING
        + """
_record = run
def run(mini_batch):
    seen = os.path.join(os.environ["RECORD"], "died")
    if not os.path.exists(seen):
        open(seen, "w").close()
        os._exit(9)
    return _record(mini_batch)
""",
    )
    done, out = batch(tmp_path, script, tmp_path / "data", "--mini_batch_size", "1")
    assert done.returncode == 0, done.stderr
    summary = summary_of(out)
    assert (summary["rows"], summary["retries"], summary["worker_restarts"]) == (2, 1, 1)


FAIL_ON_BAD = (
    RECORDING
    + """
_record = run
def run(mini_batch):
    if any(os.path.basename(p).startswith("bad") for p in mini_batch):
        raise ValueError("cannot score")
    return _record(mini_batch)
"""
)


@pytest.mark.parametrize(
    ("threshold", "code", "status"),
    [("2", 1, "aborted"), ("3", 0, "succeeded"), ("-1", 0, "succeeded")],
)
def test_error_threshold(tmp_path: Path, threshold: str, code: int, status: str) -> None:
    make_inputs(tmp_path / "data", 6, prefix="good")
    make_inputs(tmp_path / "data", 3, prefix="bad")
    script = write_script(tmp_path, FAIL_ON_BAD)
    done, out = batch(
        tmp_path, script, tmp_path / "data",
        "--mini_batch_size", "1", "--max_retries", "0", "--error_threshold", threshold,
    )  # fmt: skip
    assert done.returncode == code, done.stderr
    summary = summary_of(out)
    assert summary["status"] == status
    failures = failures_of(out)
    reported = {Path(str(f["file"])).name for f in failures}
    written = {
        line.split()[0]
        for name in ("predictions.csv", "predictions.csv.incomplete")
        if (out / name).exists()
        for line in (out / name).read_text().splitlines()
    }
    # Nothing is lost: every input file is in the output or in the failure report.
    assert reported | written == {p.name for p in (tmp_path / "data").iterdir()}
    assert not reported & written
    if status == "aborted":
        assert not (out / "predictions.csv").exists()
        assert "exceed error_threshold 2" in done.stderr
        assert summary["failed_items"] == 3
    else:
        assert not (out / "predictions.csv.incomplete").exists()
        assert reported == {"bad000.txt", "bad001.txt", "bad002.txt"}


def test_too_few_rows_count_as_failed_items(tmp_path: Path) -> None:
    make_inputs(tmp_path / "data", 4)
    script = write_script(
        tmp_path,
        RECORDING + "\n_record = run\ndef run(mini_batch):\n    return _record(mini_batch)[:1]\n",
    )
    done, out = batch(
        tmp_path, script, tmp_path / "data", "--mini_batch_size", "2", "--error_threshold", "1"
    )
    assert done.returncode == 1
    assert summary_of(out)["failed_items"] == 2
    assert (
        failures_of(out)[0]["error"] == "run() returned 1 rows for 2 files: 1 items count as failed"
    )


def test_summary_only_writes_no_rows(tmp_path: Path) -> None:
    make_inputs(tmp_path / "data", 5)
    done, out = batch(
        tmp_path, write_script(tmp_path, RECORDING), tmp_path / "data",
        "--output_action", "summary_only",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in out.iterdir()) == [FAILURES, SUMMARY]
    summary = summary_of(out)
    assert (summary["rows"], summary["output_file"]) == (5, None)


def test_output_file_name(tmp_path: Path) -> None:
    make_inputs(tmp_path / "data", 3)
    done, out = batch(
        tmp_path, write_script(tmp_path, RECORDING), tmp_path / "data",
        "--output_file_name", "scores.txt",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in out.iterdir()) == [FAILURES, SUMMARY, "scores.txt"]
    assert len((out / "scores.txt").read_text().splitlines()) == 3


def test_a_second_run_refuses_to_overwrite_the_output(tmp_path: Path) -> None:
    make_inputs(tmp_path / "data", 3)
    script = write_script(tmp_path, RECORDING)
    first, out = batch(tmp_path, script, tmp_path / "data")
    assert first.returncode == 0, first.stderr
    before = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in out.iterdir()}
    second, _ = batch(tmp_path, script, tmp_path / "data")
    assert second.returncode == 2
    assert second.stderr.count("\n") == 1
    assert "already holds predictions.csv" in second.stderr
    assert "refusing to overwrite" in second.stderr
    assert {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in out.iterdir()} == before
    assert len(recorded_batches(tmp_path)) == 1  # the second run scored nothing


def test_environment_variables_reach_the_script(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "one.txt").write_text("x")
    script = write_script(
        tmp_path,
        """
        import os
        def init():
            pass
        def run(mini_batch):
            return [os.environ["GREETING"], os.environ["AZUREML_BI_OUTPUT_PATH"]]
        """,
    )
    done, out = batch(tmp_path, script, tmp_path / "data", "-e", "GREETING=hello world")
    assert done.returncode == 0, done.stderr
    assert (out / "predictions.csv").read_text().splitlines() == [
        '"hello world"',
        str(out.resolve()),
    ]


def test_script_output_does_not_mix_with_the_summary(tmp_path: Path) -> None:
    make_inputs(tmp_path / "data", 2)
    script = write_script(
        tmp_path,
        RECORDING.replace("def run(mini_batch):", "def run(mini_batch):\n    print('noise')"),
    )
    done, _ = batch(tmp_path, script, tmp_path / "data")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["rows"] == 2  # stdout is the summary alone
    assert "noise" in done.stderr


def test_entry_script_and_model_dir_from_the_environment(tmp_path: Path) -> None:
    make_inputs(tmp_path / "data", 2)
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "weights.txt").write_text("42")
    script = write_script(
        tmp_path,
        """
        import os
        def init():
            global weight
            weight = open(os.path.join(os.environ["AZUREML_MODEL_DIR"], "weights.txt")).read()
        def run(mini_batch):
            return [weight for _ in mini_batch]
        """,
    )
    done = run_cli(
        "--input", tmp_path / "data", "--output", tmp_path / "out",
        env={"AZUREML_ENTRY_SCRIPT": "score.py", "AML_APP_ROOT": str(tmp_path),
             "AZUREML_MODEL_DIR": str(tmp_path / "model")},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert script.parent == tmp_path
    assert (tmp_path / "out" / "predictions.csv").read_text() == "42\n42\n"
    assert "status" in done.stdout and "succeeded" in done.stdout  # the plain table


def test_init_failure_stops_the_job_before_any_output(tmp_path: Path) -> None:
    make_inputs(tmp_path / "data", 2)
    script = write_script(
        tmp_path, "def init():\n    raise OSError('model missing')\ndef run(b):\n    return b\n"
    )
    done, out = batch(tmp_path, script, tmp_path / "data")
    assert done.returncode == 1
    assert done.stderr.splitlines()[-1] == (
        f"amlkit-batch: error: init() of {str(script)!r} failed: OSError: model missing"
    )
    assert list(out.iterdir()) == []


# Bad input: one line on stderr naming the file or setting, exit 2, no traceback.
@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("missing input", "input '{tmp}/nowhere' does not exist"),
        ("broken link", "input file '{tmp}/data/zz-broken.txt' cannot be read (a broken link)"),
        ("empty folder", "input folder '{tmp}/empty' holds no files"),
        ("no run()", "entry script '{tmp}/norun.py' does not define run()"),
        ("missing script", "entry_script '{tmp}/absent.py' is not a file"),
        ("syntax error", "entry script '{tmp}/broken.py' failed to import: SyntaxError"),
        ("mini_batch_size 0", "argument --mini_batch_size: must be an integer >= 1, got '0'"),
        ("timeout x", "argument --timeout: must be a number of seconds > 0, got 'x'"),
        ("error_threshold -2", "must be an integer >= -1 (-1 ignores all failures), got '-2'"),
        ("output_action", "argument --output_action: invalid choice: 'append'"),
        ("logging_level", "argument --logging_level: invalid choice: 'loud'"),
        ("output_file_name", "output_file_name must be a plain file name (no folder)"),
        ("missing model_dir", "model_dir '{tmp}/nomodel' is not a folder"),
        ("no entry script", "entry_script is not set: give --entry_script or AZUREML_ENTRY_SCRIPT"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, case: str, expected: str) -> None:
    make_inputs(tmp_path / "data", 2)
    (tmp_path / "empty").mkdir()
    (tmp_path / "data" / "zz-broken.txt").symlink_to(tmp_path / "gone.txt")
    good = write_script(tmp_path, RECORDING)
    write_script(tmp_path, "def init():\n    pass\n", name="norun.py")
    write_script(tmp_path, "def init(:\n", name="broken.py")
    script: Path | None = good
    data = tmp_path / "data"
    extra: list[str] = []
    if case != "broken link":
        (tmp_path / "data" / "zz-broken.txt").unlink()
    if case == "broken link":
        pass  # the link made above stays in the input folder
    elif case == "missing input":
        data = tmp_path / "nowhere"
    elif case == "empty folder":
        data = tmp_path / "empty"
    elif case == "no run()":
        script = tmp_path / "norun.py"
    elif case == "missing script":
        script = tmp_path / "absent.py"
    elif case == "syntax error":
        script = tmp_path / "broken.py"
    elif case == "no entry script":
        script = None
    elif case == "missing model_dir":
        extra = ["--model_dir", str(tmp_path / "nomodel")]
    else:
        option, _, value = case.partition(" ")
        value = value or {"output_action": "append", "logging_level": "loud"}.get(option, "a/b.csv")
        extra = [f"--{option}", value]
    args: list[str | Path] = ["--input", data, "--output", tmp_path / "out", *extra]
    if script is not None:
        args = ["--entry_script", script, *args]
    done = run_cli(*args)
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith("amlkit-batch: error: ")
    assert expected.format(tmp=tmp_path) in done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout == ""
    assert not (tmp_path / "out" / SUMMARY).exists()
