"""Exceptions raised by the flow framework.

Every error the framework raises is a :class:`CordaRuntimeException` or a
subclass, as in Corda 5, so flow code can catch one class for all of them.
A flow's own exceptions keep their class.
"""

from __future__ import annotations


class CordaRuntimeException(Exception):
    """Base of every error the flow framework raises.

    Flow code may raise it too: a ``CordaRuntimeException`` raised by a flow
    reaches its counterparties with its class name and message, while any other
    exception reaches them only as a generic counterparty failure.

    Attributes:
        original_exception_class_name: The class of the exception this one
            stands for, when it was re-created from another flow's failure.
        original_message: That exception's message.
    """

    def __init__(
        self,
        message: str,
        *,
        original_exception_class_name: str | None = None,
        original_message: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.original_exception_class_name = original_exception_class_name
        self.original_message = original_message


class FlowRegistrationError(CordaRuntimeException):
    """A CorDapp's flow definitions are invalid; the message lists every problem."""


class CordaSessionException(CordaRuntimeException):
    """A session call failed: the session is closed or errored, or the counterparty failed."""

    def __init__(self, message: str, *, session_id: str, counterparty: str) -> None:
        super().__init__(message)
        self.session_id = session_id
        self.counterparty = counterparty


class SessionTimeoutException(CordaRuntimeException):
    """A session received no message for longer than its timeout, which fails the flow."""


class PayloadTypeMismatchException(CordaRuntimeException):
    """``receive`` got a payload of another type than the one it was asked for."""


class PayloadSerializationException(CordaRuntimeException):
    """A payload or a flow result could not be serialised, or is too large."""


class FlowSandboxViolationException(CordaRuntimeException):
    """Flow code used something non-deterministic that Temporal's sandbox forbids."""
