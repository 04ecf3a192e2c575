"""External operations: a CorDapp's functions with side effects, run as activities.

Flow code must be deterministic, so HTTP calls, file access and randomness
go into functions marked :func:`external_operation`, in a module the
vnode's CorDapps list but the flow modules never import. Flows call them by
qualified name through ``flow_engine.execute_external_operation``. The
worker runs each call as an activity on the vnode's task queue, with retries
and a timeout. It passes an idempotency key that stays the same across the
retries of one call, so the function can make its effect happen once.

An operation takes one argument (validated by its annotation), and may take
a keyword argument ``context`` receiving an :class:`OperationContext`. A
``CordaRuntimeException`` it raises is a business failure and is not
retried; any other exception is retried until the attempts run out.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

Operation = TypeVar("Operation", bound=Callable[..., Any])

DEFAULT_MAXIMUM_ATTEMPTS = 5
DEFAULT_TIMEOUT_SECONDS = 60.0


@dataclass(frozen=True)
class OperationContext:
    """Details of the call an external operation serves."""

    idempotency_key: str
    """``<workflowId>/op/<n>``: the same for every retry of one call, distinct across calls."""
    flow_id: str
    vnode: str
    attempt: int


def external_operation(function: Operation) -> Operation:
    """Mark a function as an external operation that flows may call by its qualified name."""
    function.__accord_external_operation__ = f"{function.__module__}.{function.__qualname__}"  # type: ignore[attr-defined]
    return function


def operation_name(function: Callable[..., Any]) -> str | None:
    """Return the qualified name of a function marked as an external operation, else None."""
    return getattr(function, "__accord_external_operation__", None)
