"""Batch scoring script for the sample model, in Azure ML's documented batch style.

Azure ML (and `amlkit-batch`) call `init()` once per worker process, then
`run(mini_batch)` with a list of input file paths, `mini_batch_size` at a time.
Each returned DataFrame row is one successful item; with `output_action:
append_row` the rows land in `predictions.csv` as `file row prediction`, so every
prediction can be traced back to its input file and row.
"""

from __future__ import annotations

import glob
import logging
import os
from typing import Any

import joblib
import pandas as pd

model: Any = None  # the fitted scikit-learn model, loaded by init()


def init() -> None:
    """Load the model once: AZUREML_MODEL_DIR holds the files of the registered model."""
    global model
    model_dir = os.environ["AZUREML_MODEL_DIR"]
    # Azure ML may nest the files (<dir>/<model>/<version>/...): look at any depth.
    found = sorted(
        path
        for pattern in ("model.joblib", "model.pkl", "*.joblib", "*.pkl")
        for path in glob.glob(os.path.join(model_dir, "**", pattern), recursive=True)
    )
    if not found:
        raise FileNotFoundError(f"no model.joblib or *.pkl under {model_dir}")
    model = joblib.load(found[0])
    logging.info("batch scoring: model loaded from %s", found[0])


def run(mini_batch: list[str]) -> pd.DataFrame:
    """Score each CSV file of the mini-batch; one output row per input row."""
    features = getattr(model, "feature_names_in_", None)
    results = []
    for file_path in mini_batch:
        data = pd.read_csv(file_path)
        x = data[list(features)] if features is not None else data.to_numpy()
        results.append(
            pd.DataFrame(
                {
                    "file": os.path.basename(file_path),
                    "row": range(len(data)),
                    "prediction": model.predict(x),
                }
            )
        )
    return pd.concat(results, ignore_index=True)
