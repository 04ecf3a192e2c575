"""Logging for every Accord process: one line per record, with the flow, vnode and session IDs.

Every record carries ``flow_id``, ``vnode`` and ``session_id``, so one flow can
be followed with grep across the API, the worker processes and their
activities. ``ContextFilter`` fills them in, in this order of preference:

1. the record's own attributes, as set by ``extra={"flow_id": ...}`` (the flow
   host, the session layer and the activities pass them);
2. the values bound with ``log_context(...)`` for code outside workflows;
3. for Temporal's workflow and activity loggers, the vnode short hash read
   from the task queue ``vnode-<shortHash>`` in the ``temporal_workflow`` or
   ``temporal_activity`` details the SDK attaches;
4. ``-`` when nothing names the ID.
"""

from __future__ import annotations

import contextvars
import logging
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TextIO

__all__ = ["CONTEXT_FIELDS", "ContextFilter", "configure_logging", "log_context"]

CONTEXT_FIELDS = ("flow_id", "vnode", "session_id")
"""Record attributes that every line shows, ``-`` when a record has none."""

MISSING = "-"

LOG_FORMAT = (
    "%(asctime)s %(levelname)-7s %(name)s "
    "flow_id=%(flow_id)s vnode=%(vnode)s session_id=%(session_id)s %(message)s"
)

_TASK_QUEUE_PREFIX = "vnode-"

_context: contextvars.ContextVar[Mapping[str, str]] = contextvars.ContextVar("accord_log_context", default={})


@contextmanager
def log_context(**ids: str) -> Iterator[None]:
    """Stamp ``flow_id``, ``vnode`` or ``session_id`` on the records logged inside the block.

    The values are kept in a context variable, so they follow asyncio tasks
    started inside the block and do not leak into other tasks.
    """
    unknown = set(ids) - set(CONTEXT_FIELDS)
    if unknown:
        raise ValueError(f"Unknown log context fields {sorted(unknown)}; use {', '.join(CONTEXT_FIELDS)}")
    token = _context.set({**_context.get(), **ids})
    try:
        yield
    finally:
        _context.reset(token)


class ContextFilter(logging.Filter):
    """Set ``flow_id``, ``vnode`` and ``session_id`` on every record that passes; never drops one."""

    def filter(self, record: logging.LogRecord) -> bool:
        bound = _context.get()
        temporal = _temporal_details(record)
        for field in CONTEXT_FIELDS:
            if getattr(record, field, None) not in (None, ""):
                continue
            value = bound.get(field) or _from_temporal(field, temporal)
            setattr(record, field, value or MISSING)
        return True


def _temporal_details(record: logging.LogRecord) -> Mapping[str, Any]:
    for key in ("temporal_workflow", "temporal_activity"):
        details = getattr(record, key, None)
        if isinstance(details, Mapping):
            return details
    return {}


def _from_temporal(field: str, details: Mapping[str, Any]) -> str | None:
    if field != "vnode":
        return None
    task_queue = details.get("task_queue")
    if isinstance(task_queue, str) and task_queue.startswith(_TASK_QUEUE_PREFIX):
        return task_queue.removeprefix(_TASK_QUEUE_PREFIX)
    return None


def configure_logging(level: int | str = logging.INFO, *, stream: TextIO | None = None) -> logging.Handler:
    """Send every record at ``level`` or above to stderr, one line each, with the three IDs.

    Calling it again replaces the handler it installed before and leaves other
    handlers of the root logger (pytest's capture, for one) in place.

    Args:
        level: A ``logging`` level or its name, such as ``"DEBUG"``.
        stream: Where lines go; ``sys.stderr`` when None.

    Returns:
        The handler installed on the root logger.

    Raises:
        ValueError: ``level`` is not a known level name.
    """
    if isinstance(level, str):
        number = logging.getLevelName(level.upper())
        if not isinstance(number, int):
            raise ValueError(f"Invalid log level {level!r}; use DEBUG, INFO, WARNING, ERROR or CRITICAL")
        level = number

    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    handler.addFilter(ContextFilter())
    handler.set_name("accord")

    root = logging.getLogger()
    for existing in list(root.handlers):
        if existing.get_name() == "accord":
            root.removeHandler(existing)
            existing.close()
    root.addHandler(handler)
    root.setLevel(level)
    # httpx logs every request at INFO, which would bury the demo's own lines
    # under its status polls; DEBUG still shows them.
    httpx_level = level if level <= logging.DEBUG else max(level, logging.WARNING)
    logging.getLogger("httpx").setLevel(httpx_level)
    return handler
