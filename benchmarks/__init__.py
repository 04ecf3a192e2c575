"""Benchmarks of Accord against raw Temporal doing the same work, on the same server, in the same run."""
