"""Accord processes: CLI, settings, REST API, workers and the static network file."""
