"""Online scoring script for the sample model, in Azure ML's documented style.

Runs unchanged under Azure ML's own server (azmlinfsrv) and under `amlkit-serve`:
`init()` once per worker process, `run(raw_data)` per request with the raw body,
`{"data": [[20 numbers], ...]}`, answered with one predicted class a row.

A body of another shape is answered 400 with what `data` must hold (AMLResponse, as
Azure's docs show), instead of the 500 an exception in run() would give.
"""

from __future__ import annotations

import glob
import json
import logging
import os
from typing import Any

import joblib
import numpy as np
from azureml.contrib.services.aml_response import AMLResponse

model: Any = None  # the fitted scikit-learn model, loaded by init()


def init() -> None:
    """Load the model once, from AZUREML_MODEL_DIR.

    Azure ML keeps a registered folder's name under it
    (`$AZUREML_MODEL_DIR/model/model.joblib` for `path: .../model`), while a local run
    may point it at the folder itself: the file is looked for at any depth.
    """
    global model
    model_dir = os.environ["AZUREML_MODEL_DIR"]
    found = sorted(glob.glob(os.path.join(model_dir, "**", "model.joblib"), recursive=True))
    if not found:
        raise FileNotFoundError(f"no model.joblib under AZUREML_MODEL_DIR={model_dir}")
    model = joblib.load(found[0])
    logging.info("model loaded from %s", found[0])


def _bad_input(problem: str) -> AMLResponse:
    expected = f'{{"data": [[{model.n_features_in_} numbers], ...]}}'
    return AMLResponse({"message": f"{problem}; the body must be {expected}"}, 400, json_str=True)


def run(raw_data: str) -> list[int] | AMLResponse:
    """Predict a class for each row of `data`; the list goes back as JSON."""
    try:
        payload = json.loads(raw_data)
    except (ValueError, RecursionError) as exc:  # RecursionError: nested too deep
        return _bad_input(f"the body is not JSON ({exc})")
    rows = payload.get("data") if isinstance(payload, dict) else None
    if rows is None:
        return _bad_input("no `data` key in a JSON object")
    try:
        features = np.asarray(rows, dtype=float)
    except (ValueError, TypeError) as exc:  # not numbers, or rows of different lengths
        return _bad_input(f"`data` is not rows of numbers ({exc})")
    if features.ndim != 2 or features.shape[0] == 0 or features.shape[1] != model.n_features_in_:
        return _bad_input(f"`data` has shape {list(features.shape)}")
    if not np.isfinite(features).all():
        return _bad_input("`data` holds NaN or infinite numbers")
    predictions: list[int] = model.predict(features).tolist()
    return predictions
