"""Benchmark amlkit-batch end to end against a plain single-process loop doing the same work.

Workload: `--files` CSV files of `--rows` rows and 20 features (default 200 x 20,000,
generated deterministically into a temporary folder), the sample model
(runtime-image/sample/train.py) and the sample batch script
(runtime-image/sample/batchscoring/score.py).

Both sides do the same reads, predictions and writes, and are timed end to end, as a
fresh process each (interpreter start, imports, model loading included):
- plain loop: one process imports the sample script, calls its `init()`, then for
  each mini-batch of `--mini_batch_size` files calls its `run()` and appends the rows
  to one output file as `append_row` writes them (space-separated, no header);
- amlkit-batch: the real CLI with `max_concurrency_per_instance` 2 (one worker a core),
  the same mini-batch size, `append_row` into predictions.csv;
- the plain loop again, its files split in two halves over 2 processes started
  together, with no runner: what two processes get from the machine at that moment
  (the cores are shared with other work), so a bound for any 2-process runner.
The workload is large enough that start-up (imports and `init()`, measured inside the
plain loop) is under a tenth of the plain loop's run; the script checks it.

Target (issue 13): amlkit-batch with 2 workers >= 1.6x the plain loop's rows/s.

    .venv/bin/python bench/batch_bench.py [--repeat 3] [--write-readme]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

# bench/ holds scripts, not a package: its shared module imports from the scripts' folder.
sys.path.insert(0, str(Path(__file__).resolve().parent))
from readme import replace_section

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "runtime-image" / "sample"
BATCH_SCRIPT = SAMPLE / "batchscoring" / "score.py"
SECTION = "## Batch runner"
TARGET = 1.6
WORKERS = 2

# The plain loop: the sample script's own init() and run(), and append_row's writes.
PLAIN_LOOP = """
import os, sys, time
start = time.perf_counter()
sys.path.insert(0, os.path.dirname(sys.argv[1]))
os.environ["AZUREML_MODEL_DIR"] = sys.argv[2]
import score
score.init()
ready = time.perf_counter()
files = sorted(os.path.join(sys.argv[3], name) for name in os.listdir(sys.argv[3]))
part, parts = int(sys.argv[6]), int(sys.argv[7])  # this process's share: a contiguous slice
files = files[len(files) * part // parts : len(files) * (part + 1) // parts]
size = int(sys.argv[5])
rows = 0
with open(sys.argv[4], "w", newline="") as out:
    for i in range(0, len(files), size):
        frame = score.run(files[i : i + size])
        frame.to_csv(out, sep=" ", header=False, index=False, lineterminator="\\n")
        rows += len(frame)
print(rows, ready - start, time.perf_counter() - start)
"""


def train_model(model_dir: Path) -> None:
    """Train the sample model with the sample's own script."""
    subprocess.run(
        [sys.executable, str(SAMPLE / "train.py"), "--output", str(model_dir)],
        check=True,
        capture_output=True,
        text=True,
    )


def make_data(folder: Path, files: int, rows: int) -> None:
    rng = np.random.default_rng(20240605)
    folder.mkdir(parents=True)
    columns = [f"f{i}" for i in range(20)]
    for i in range(files):
        frame = pd.DataFrame(rng.normal(size=(rows, len(columns))).round(6), columns=columns)
        frame.to_csv(folder / f"part-{i:04d}.csv", index=False)


def run_plain_loop(
    model_dir: Path, data: Path, out: Path, size: int, processes: int = 1
) -> tuple[float, int, float]:
    """Wall clock, rows and start-up (imports and init()) of the plain loop, its files
    split over `processes` processes started together (no runner: a bound for any)."""
    start = time.perf_counter()
    common = [sys.executable, "-c", PLAIN_LOOP, str(BATCH_SCRIPT), str(model_dir), str(data)]
    running = [
        subprocess.Popen(
            [*common, f"{out}.{part}", str(size), str(part), str(processes)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for part in range(processes)
    ]
    outputs = [process.communicate()[0].split() for process in running]
    wall = time.perf_counter() - start
    if any(process.returncode for process in running):
        raise SystemExit("the plain loop failed")
    for part in range(processes):
        Path(f"{out}.{part}").unlink()
    return wall, sum(int(o[0]) for o in outputs), max(float(o[1]) for o in outputs)


def run_runner(data: Path, model_dir: Path, out: Path, size: int) -> tuple[float, dict[str, Any]]:
    """Wall clock of the amlkit-batch command, and its summary."""
    command = [
        str(Path(sys.executable).with_name("amlkit-batch")),
        "--entry_script", str(BATCH_SCRIPT), "--model_dir", str(model_dir),
        "--input", str(data), "--output", str(out),
        "--max_concurrency_per_instance", str(WORKERS), "--mini_batch_size", str(size),
        "--summary_format", "json", "--logging_level", "warning",
    ]  # fmt: skip
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"amlkit-batch failed ({done.returncode}): {done.stderr.strip()}")
    summary: dict[str, Any] = json.loads(done.stdout)
    return wall, summary


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--mini_batch_size", type=int, default=10)
    parser.add_argument("--write-readme", action="store_true", help="update bench/README.md")
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="amlkit-batch-bench-") as tmp_name:
        tmp = Path(tmp_name)
        model_dir, data = tmp / "model", tmp / "data"
        train_model(model_dir)
        make_data(data, args.files, args.rows)
        total = args.files * args.rows
        loop_walls, startups, split_walls, runner_walls, scorings = [], [], [], [], []
        for i in range(args.repeat):  # alternating, so all see the same background load
            wall, rows, startup = run_plain_loop(
                model_dir, data, tmp / f"loop{i}.csv", args.mini_batch_size
            )
            assert rows == total, (rows, total)
            loop_walls.append(wall)
            startups.append(startup)
            wall, summary = run_runner(data, model_dir, tmp / f"out{i}", args.mini_batch_size)
            assert summary["rows"] == total, summary
            runner_walls.append(wall)
            scorings.append(float(summary["scoring_seconds"]))
            wall, rows, _ = run_plain_loop(
                model_dir, data, tmp / f"split{i}.csv", args.mini_batch_size, WORKERS
            )
            assert rows == total, (rows, total)
            split_walls.append(wall)
            shutil.rmtree(tmp / f"out{i}")
    loop, runner = statistics.median(loop_walls), statistics.median(runner_walls)
    startup, scoring = statistics.median(startups), statistics.median(scorings)
    split = statistics.median(split_walls)
    rows_table = [
        ("plain loop, 1 process", loop, f"start-up (imports, init()) {startup:.2f} s"),
        (
            f"amlkit-batch, {WORKERS} workers",
            runner,
            f"after the first init(): {scoring:.2f} s",
        ),
        (
            f"plain loop, {WORKERS} processes, half the files each",
            split,
            "no runner: what 2 processes get from this machine at the time",
        ),
    ]
    lines = ["| scenario | seconds, end to end | rows/s | note |", "|---|---:|---:|---|"]
    lines += [
        f"| {name} | {sec:.2f} | {total / sec:,.0f} | {note} |" for name, sec, note in rows_table
    ]
    speedup = loop / runner
    verdict = (
        f"amlkit-batch with {WORKERS} workers: {speedup:.3f}x the plain loop "
        f"(target >= {TARGET}x: {'met' if speedup >= TARGET else 'NOT met'}). Start-up is "
        f"{startup / loop:.0%} of the plain loop's run (the workload must keep it under 10%: "
        f"{'yes' if startup < 0.1 * loop else 'NO'}). amlkit-batch's time outside scoring "
        f"(start-up of the CLI and its workers, joining the parts): {runner - scoring:.2f} s. "
        f"The plain loop split over {WORKERS} processes, with no runner at all: "
        f"{loop / split:.2f}x, the most any {WORKERS}-process runner could reach here then."
    )
    table = "\n".join(lines)
    print(f"{args.files} files x {args.rows} rows = {total:,} rows, median of {args.repeat}\n")
    print(table + "\n\n" + verdict)
    if args.write_readme:
        write_readme(args, table, verdict, load_before)
    return 0


def write_readme(args: argparse.Namespace, table: str, verdict: str, load: float) -> None:
    command = " ".join([".venv/bin/python", "bench/batch_bench.py", *sys.argv[1:]])
    body = "\n".join(
        [
            SECTION,
            "",
            f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on this machine "
            f"({os.cpu_count()} cores, Python {sys.version.split()[0]}; 1-minute load "
            f"average {load:.2f} before the run) with:",
            "",
            "```",
            command,
            "```",
            "",
            f"{args.files} CSV files x {args.rows:,} rows x 20 features, the sample model and "
            "`sample/batchscoring/score.py`, `mini_batch_size` "
            f"{args.mini_batch_size}, `append_row`; each side a fresh process, timed end to "
            f"end; median of {args.repeat} runs, alternating.",
            "",
            table,
            "",
            verdict,
            "",
            "",
        ]
    )
    replace_section(SECTION, body)


if __name__ == "__main__":
    sys.exit(main())
