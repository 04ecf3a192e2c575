"""Settings of the embedded Temporal dev server, shared by ``accord dev``, the tests and the benchmarks.

The dev server's defaults make every server hop wait for a history queue
poller limited to 20 polls per second (about 50 ms a hop) and bound
throughput by SQLite commits. Raising the poll rates to 200 per second and
running SQLite in WAL mode with ``synchronous=normal`` cut a signal round trip
from about 200 ms to about 20 ms and triple throughput on a 2-core machine.
WAL with ``synchronous=normal`` survives a crash of the server process but
can lose the last commits on a power loss or an operating-system crash.
"""

from __future__ import annotations

from app.worker import search_attribute_types

POLL_RATE_PER_SECOND = 200

DYNAMIC_CONFIG: dict[str, str] = {
    "history.transferProcessorMaxPollRPS": str(POLL_RATE_PER_SECOND),
    "history.timerProcessorMaxPollRPS": str(POLL_RATE_PER_SECOND),
    "history.visibilityProcessorMaxPollRPS": str(POLL_RATE_PER_SECOND),
    # Lets a flow that continues as new start its next run at once instead of a second later.
    "history.workflowIdReuseMinimalInterval": '"0s"',
    # Without this the server reports its version to Temporal over the internet; Accord stays on loopback.
    "frontend.enableServerVersionCheck": "false",
}

SQLITE_PRAGMAS = ("journal_mode=wal", "synchronous=normal")

RETENTION_DAYS = 7
"""How long closed flows stay visible, as Corda keeps flow statuses for 7 days."""


def dynamic_config_args() -> list[str]:
    """Return the ``--dynamic-config-value`` flags of the embedded default."""
    args: list[str] = []
    for key, value in DYNAMIC_CONFIG.items():
        args += ["--dynamic-config-value", f"{key}={value}"]
    return args


def server_args(*, database_file: str | None) -> list[str]:
    """Return the flags added to ``temporal server start-dev``: SQLite pragmas and dynamic config.

    The pragmas apply to a database file; the in-memory database takes none.
    """
    args = dynamic_config_args()
    if database_file is not None:
        args += ["--db-filename", database_file]
        for pragma in SQLITE_PRAGMAS:
            args += ["--sqlite-pragma", pragma]
    return args


def search_attribute_args() -> list[str]:
    """Return the ``--search-attribute`` flags registering the Corda search attributes."""
    args: list[str] = []
    for name, kind in search_attribute_types().items():
        args += ["--search-attribute", f"{name}={kind}"]
    return args
