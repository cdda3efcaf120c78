"""amlkit: put ML models into production on Azure Machine Learning with Pulumi."""

__version__ = "0.1.0"
