"""Metric-gated traffic shifting with automatic rollback for online endpoints."""
