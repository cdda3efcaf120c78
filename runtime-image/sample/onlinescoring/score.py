"""Online scoring script for the sample model, in Azure ML's documented style.

Runs unchanged under Azure ML's own server (azmlinfsrv) and under `amlkit-serve`:
`init()` once per worker process, `run(raw_data)` per request with the raw body,
`{"data": [[20 numbers], ...]}`, answered with one predicted class a row.
"""

import json
import logging
import os

import joblib

model = None


def init():
    """Load the model once: AZUREML_MODEL_DIR is the folder of the registered model."""
    global model
    model_path = os.path.join(os.environ["AZUREML_MODEL_DIR"], "model.joblib")
    model = joblib.load(model_path)
    logging.info("model loaded from %s", model_path)


def run(raw_data):
    """Predict a class for each row of `data`; the list goes back as JSON."""
    data = json.loads(raw_data)["data"]
    result = model.predict(data)
    return result.tolist()
