"""The sample model through amlkit-batch: every input row is in the output or reported."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest

pytestmark = pytest.mark.slow

SCRIPT = Path(__file__).resolve().parents[1] / "sample" / "batchscoring" / "score.py"
COLUMNS = [f"f{i}" for i in range(20)]


def test_every_row_is_scored_or_reported(tmp_path: Path, sample_model_dir: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    rng = np.random.default_rng(7)
    frames = {}
    for i in range(10):
        frame = pd.DataFrame(rng.normal(size=(50, 20)).round(6), columns=COLUMNS)
        frame.to_csv(data / f"part-{i:02d}.csv", index=False)
        frames[f"part-{i:02d}.csv"] = frame
    # 19 features: the model refuses it, so its whole mini-batch fails every try.
    pd.DataFrame(rng.normal(size=(5, 19)), columns=COLUMNS[:19]).to_csv(
        data / "part-04b.csv", index=False
    )
    out = tmp_path / "out"
    done = subprocess.run(
        [
            sys.executable, "-m", "amlkit_runtime.batch.cli",
            "--entry_script", str(SCRIPT), "--model_dir", str(sample_model_dir),
            "--input", str(data), "--output", str(out),
            "--mini_batch_size", "3", "--max_concurrency_per_instance", "2",
            "--max_retries", "1", "--summary_format", "json",
        ],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    # Sorted: 00 01 02 | 03 04 04b | 05 06 07 | 08 09 -> the second mini-batch fails.
    assert (summary["files"], summary["mini_batches"], summary["files_failed"]) == (11, 4, 3)

    failures = [json.loads(line) for line in (out / "amlkit_batch_failures.jsonl").open()]
    assert sorted(Path(f["file"]).name for f in failures) == [
        "part-03.csv",
        "part-04.csv",
        "part-04b.csv",
    ]
    assert {f["tries"] for f in failures} == {2}
    assert all("ValueError" in f["error"] for f in failures)

    scored = pd.read_csv(
        out / "predictions.csv", sep=" ", header=None, names=["file", "row", "prediction"]
    )
    model = joblib.load(sample_model_dir / "model.joblib")
    expected = pd.concat(
        [
            pd.DataFrame(
                {"file": name, "row": range(50), "prediction": model.predict(frame.to_numpy())}
            )
            for name, frame in sorted(frames.items())
            if name not in ("part-03.csv", "part-04.csv")
        ],
        ignore_index=True,
    )
    # Every row of every file that is not in the failure report, once, in input order,
    # with the model's own prediction.
    pd.testing.assert_frame_equal(scored, expected, check_dtype=False)
    assert summary["rows"] == len(expected) == 400
