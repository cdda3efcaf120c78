"""Stand-ins for Azure ML's request/response helpers, importable under Azure's names.

Scoring scripts do `from azureml.contrib.services.aml_request import AMLRequest,
rawhttp` (or the same from `azureml_inference_server_http.api.aml_request`).
`install()` makes those names amlkit's own werkzeug-based classes, even where Azure's
Flask-based packages are installed: the server that calls run() decides what request it
gets and which responses it can send (finder.py).
"""

from amlkit_runtime.aml_compat.finder import ALIASES, install, rawhttp_requested

__all__ = ["ALIASES", "install", "rawhttp_requested"]
