"""Benchmark amlkit-batch against a plain loop and against the model alone.

Workload: 200 CSV files of 1,000 rows and 20 features (generated deterministically
into a temporary folder), the sample model (runtime-image/sample/train.py) and the
sample batch script (runtime-image/sample/batchscoring/score.py).

Scenarios, each repeated and reported as the median:
- model alone, 1 and 2 processes: `predict()` on all rows already in memory; process
  start-up and model loading are outside the timing. This is the ceiling.
- read_csv alone, 1 and 2 processes: parse every file, no model. With the model
  alone it bounds any runner that has to parse these files: at best the two costs
  add up, so the runner reaches at most `model / (model + parse)` of the model alone
  (taken from the 1-process timings, which move less between runs).
- plain loop, 1 and 2 processes: load the model once, then for each file
  `read_csv` + `predict`, as the scoring script does, without any runner.
- amlkit-batch, `max_concurrency_per_instance` 2: the real CLI in a subprocess.
  End to end (wall clock of the command, including interpreter start, worker
  spawn, imports and `init()`) and after init (the runner's own `scoring_seconds`).
  The plain loop is also timed end to end, as a fresh process, for comparison.

Target (issue 5): runner rows/s >= 80% of the model alone on 2 cores.

    .venv/bin/python bench/batch_bench.py [--repeat 3] [--write-readme]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "runtime-image" / "sample"
BATCH_SCRIPT = SAMPLE / "batchscoring" / "score.py"
README = Path(__file__).resolve().parent / "README.md"
SECTION = "## Batch runner"
TARGET = 0.80
CORES = 2

# Filled in the parent before the fork pools start, so children inherit them.
_MODEL: Any = None
_ROWS: Any = None
_FILES: list[Path] = []


def train_model(model_dir: Path) -> Path:
    """Train the sample model with the sample's own script; return the model file."""
    subprocess.run(
        [sys.executable, str(SAMPLE / "train.py"), "--output", str(model_dir)],
        check=True,
        capture_output=True,
        text=True,
    )
    found = sorted(model_dir.rglob("*.joblib")) + sorted(model_dir.rglob("*.pkl"))
    if not found:
        raise SystemExit(f"sample/train.py wrote no .joblib or .pkl under {model_dir}")
    return found[0]


def feature_names(model: Any, count: int = 20) -> list[str]:
    names = getattr(model, "feature_names_in_", None)
    return [str(n) for n in names] if names is not None else [f"f{i}" for i in range(count)]


def make_data(folder: Path, files: int, rows: int, columns: list[str]) -> list[Path]:
    rng = np.random.default_rng(20240605)
    folder.mkdir(parents=True)
    paths = []
    for i in range(files):
        frame = pd.DataFrame(rng.normal(size=(rows, len(columns))).round(6), columns=columns)
        path = folder / f"part-{i:04d}.csv"
        frame.to_csv(path, index=False)
        paths.append(path)
    return paths


def _features(frame: Any) -> Any:
    names = getattr(_MODEL, "feature_names_in_", None)
    return frame[list(names)] if names is not None else frame.to_numpy()


def _predict_share(share: tuple[int, int]) -> int:
    index, parts = share
    rows = np.array_split(_ROWS, parts)[index]
    return len(_MODEL.predict(rows))


def _parse_share(share: tuple[int, int]) -> int:
    index, parts = share
    return sum(len(pd.read_csv(path)) for path in _FILES[index::parts])


def _loop_share(share: tuple[int, int]) -> int:
    index, parts = share
    count = 0
    for path in _FILES[index::parts]:
        frame = pd.read_csv(path)
        count += len(_MODEL.predict(_features(frame)))
    return count


def in_pool(task: Callable[[tuple[int, int]], int], processes: int, repeat: int) -> list[float]:
    """Time `task` split over `processes` forked processes (already warm)."""
    if processes == 1:
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            task((0, 1))
            times.append(time.perf_counter() - start)
        return times
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(processes) as pool:
        pool.map(_warm, range(processes), chunksize=1)
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            pool.map(task, [(i, processes) for i in range(processes)], chunksize=1)
            times.append(time.perf_counter() - start)
    return times


def _warm(_: int) -> None:
    _MODEL.predict(_ROWS[:100])


PLAIN_LOOP_PROGRAM = """
import glob, sys
import joblib, pandas as pd
model = joblib.load(sys.argv[1])
names = getattr(model, "feature_names_in_", None)
for path in sorted(glob.glob(sys.argv[2] + "/*.csv")):
    frame = pd.read_csv(path)
    model.predict(frame[list(names)] if names is not None else frame.to_numpy())
"""


def run_plain_loop_process(model_file: Path, data: Path) -> float:
    """Wall clock of the plain loop as a fresh process: imports and model load included."""
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", PLAIN_LOOP_PROGRAM, str(model_file), str(data)], check=True
    )
    return time.perf_counter() - start


def run_runner(
    data: Path, model_dir: Path, out: Path, concurrency: int, mini_batch_size: int
) -> tuple[float, dict[str, Any]]:
    command = [
        str(Path(sys.executable).with_name("amlkit-batch")),
        "--entry_script", str(BATCH_SCRIPT), "--model_dir", str(model_dir),
        "--input", str(data), "--output", str(out),
        "--max_concurrency_per_instance", str(concurrency),
        "--mini_batch_size", str(mini_batch_size),
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
    global _MODEL, _ROWS, _FILES
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--mini_batch_size", type=int, default=10)
    parser.add_argument("--write-readme", action="store_true", help="update bench/README.md")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="amlkit-batch-bench-") as tmp_name:
        tmp = Path(tmp_name)
        model_dir = tmp / "model"
        model_file = train_model(model_dir)
        _MODEL = joblib.load(model_file)
        columns = feature_names(_MODEL)
        _FILES = make_data(tmp / "data", args.files, args.rows, columns)
        total = args.files * args.rows
        _ROWS = _features(pd.concat([pd.read_csv(p) for p in _FILES], ignore_index=True))

        results: list[tuple[str, float, str]] = []
        for processes in (1, CORES):
            times = in_pool(_predict_share, processes, args.repeat)
            results.append((f"model alone, {processes} process(es)", statistics.median(times), ""))
        for processes in (1, CORES):
            times = in_pool(_parse_share, processes, args.repeat)
            note = "no model"
            results.append(
                (f"read_csv alone, {processes} process(es)", statistics.median(times), note)
            )
        for processes in (1, CORES):
            times = in_pool(_loop_share, processes, args.repeat)
            note = "read_csv + predict per file"
            results.append((f"plain loop, {processes} process(es)", statistics.median(times), note))
        loop_walls = [run_plain_loop_process(model_file, tmp / "data") for _ in range(args.repeat)]
        results.append(
            ("plain loop, 1 process, end to end", statistics.median(loop_walls), "wall clock")
        )
        walls, scorings = [], []
        for i in range(args.repeat):
            wall, summary = run_runner(
                tmp / "data", model_dir, tmp / f"out{i}", CORES, args.mini_batch_size
            )
            assert summary["rows"] == total, summary
            walls.append(wall)
            scorings.append(float(summary["scoring_seconds"]))
        results.append(
            (f"amlkit-batch, {CORES} workers, end to end", statistics.median(walls), "wall clock")
        )
        results.append(
            (f"amlkit-batch, {CORES} workers, after init", statistics.median(scorings), "")
        )

    timed = {name: value for name, value, _ in results}
    ceiling = total / timed[f"model alone, {CORES} process(es)"]
    lines = [
        f"| scenario | seconds | rows/s | vs model alone ({CORES} cores) | note |",
        "|---|---:|---:|---:|---|",
    ]
    for name, seconds, note in results:
        rate = total / seconds
        lines.append(f"| {name} | {seconds:.3f} | {rate:,.0f} | {rate / ceiling:.0%} | {note} |")
    runner_e2e = total / timed[f"amlkit-batch, {CORES} workers, end to end"]
    runner_steady = total / timed[f"amlkit-batch, {CORES} workers, after init"]
    # One process each: the pool's figures move more between runs, and both costs scale
    # alike with the number of processes.
    model_1 = timed["model alone, 1 process(es)"]
    parse_bound = model_1 / (model_1 + timed["read_csv alone, 1 process(es)"])
    verdict = (
        f"Target: amlkit-batch >= {TARGET:.0%} of the model alone on {CORES} cores. "
        f"End to end: {runner_e2e / ceiling:.0%} "
        f"({'met' if runner_e2e >= TARGET * ceiling else 'NOT met'}); "
        f"after init: {runner_steady / ceiling:.0%} "
        f"({'met' if runner_steady >= TARGET * ceiling else 'NOT met'}). "
        f"Bound for any runner that parses these files (model and read_csv alone added up, "
        f"1 process): {parse_bound:.0%}; the plain loop on {CORES} processes, no runner: "
        f"{total / timed[f'plain loop, {CORES} process(es)'] / ceiling:.0%}."
    )
    table = "\n".join(lines)
    print(f"{args.files} files x {args.rows} rows = {total:,} rows, median of {args.repeat}\n")
    print(table)
    print()
    print(verdict)
    if args.write_readme:
        write_readme(args, table, verdict)
    return 0


READING = """\
Reading. The target cannot be met with this workload by any runner. Parsing the files
alone ("read_csv alone", no model) takes about as long as the model alone, so a runner
that cost nothing at all would still reach only the "bound" above, about half of the
model alone; the plain loop on 2 processes, with no runner at all, is lower
still, because it calls `predict()` once a file instead of once for all rows. Faster
parsers do not change this at 1,000 rows a file: checked once on 2026-11-23 (not part
of this script, since neither is a dependency), pyarrow 26 (`pyarrow.csv.read_csv`, one
thread) and polars 2.1 (`read_csv`) took 1.7 ms a file against 1.1-1.4 ms for pandas.
After init, the runner's gap to the plain loop is the work the plain loop leaves out:
the sample script builds a DataFrame of `file row prediction` for each file (about
0.5 ms a file), and `append_row` writes it (pandas `to_csv`, about 0.6 ms per 1,000
rows), then the parts are joined. End to end, most of the time is each process
importing pandas and scikit-learn (about 1.3 s), which the plain loop pays as well:
compare the two end-to-end rows. The machine has 2 shared cores and other jobs may
run at the same time, so single figures move by up to about 50% between runs (the
model alone on 2 processes has measured 0.09 to 0.17 s)."""


def write_readme(args: argparse.Namespace, table: str, verdict: str) -> None:
    command = " ".join([".venv/bin/python", "bench/batch_bench.py", *sys.argv[1:]])
    body = "\n".join(
        [
            SECTION,
            "",
            f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on this machine "
            f"({os.cpu_count()} cores, Python {sys.version.split()[0]}) with:",
            "",
            "```",
            command,
            "```",
            "",
            f"{args.files} CSV files x {args.rows} rows x 20 features, the sample model and "
            "`sample/batchscoring/score.py`, `mini_batch_size` "
            f"{args.mini_batch_size}; median of {args.repeat} runs.",
            "",
            table,
            "",
            verdict,
            "",
            READING,
            "",
            "",
        ]
    )
    # Re-read just before writing: other sections (the server's) belong to others.
    text = README.read_text() if README.exists() else "# Benchmarks\n"
    start = text.find(SECTION + "\n")
    if start == -1:
        text = text.rstrip("\n") + "\n\n" + body
    else:
        end = text.find("\n## ", start + len(SECTION))
        text = text[:start] + body + (text[end + 1 :] if end != -1 else "")
    README.write_text(text.rstrip("\n") + "\n")


if __name__ == "__main__":
    sys.exit(main())
