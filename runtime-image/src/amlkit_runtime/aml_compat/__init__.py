"""Stand-ins for Azure ML's request/response helpers, importable under Azure's names.

Scoring scripts do `from azureml.contrib.services.aml_request import AMLRequest,
rawhttp` (or the same from `azureml_inference_server_http.api.aml_request`).
`install()` puts a finder at the END of `sys.meta_path`: it only answers for those
module names when no installed package does, so a real azureml-contrib-services
(or azureml-inference-server-http) is never shadowed.
"""

from amlkit_runtime.aml_compat.finder import ALIASES, install, rawhttp_requested

__all__ = ["ALIASES", "install", "rawhttp_requested"]
