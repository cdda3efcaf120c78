"""Local mode: a stack's online endpoints served, and its batch deployments run, on this
machine by the scoring runtime (`amlkit-serve`, `amlkit-batch`)."""
