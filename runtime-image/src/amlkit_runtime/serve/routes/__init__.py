"""The routes of amlkit-serve, one concern a module: health probes, scoring, swagger, metrics."""
