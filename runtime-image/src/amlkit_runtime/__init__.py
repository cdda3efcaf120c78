"""amlkit's scoring runtime: Azure ML's scoring-script contract, served fast."""

__version__ = "0.1.0"
