"""The batch runner: Azure ML's batch scoring contract (`init()`, `run(mini_batch)`)."""

from amlkit_runtime.batch.runner import BatchJobError, BatchSummary, run_batch
from amlkit_runtime.batch.settings import BatchInputError, BatchSettings

__all__ = ["BatchInputError", "BatchJobError", "BatchSettings", "BatchSummary", "run_batch"]
