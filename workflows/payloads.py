"""Serialisation of session payloads and flow results, with their type names and size limits.

A payload travels as JSON text plus the name of its type, so ``receive(T)``
can tell a wrong type from a malformed value and name both types in its
error. Bytes travel as base64. Values are validated back with pydantic, which
keeps ``Decimal`` exact, ``datetime`` time zones and nested models.
"""

from __future__ import annotations

import types
import typing
from typing import Any, TypeVar

import pydantic_core
from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError

from workflows.errors import PayloadSerializationException, PayloadTypeMismatchException

T = TypeVar("T")

MAX_MESSAGE_BYTES = 2 * 1024 * 1024
"""Temporal's limit on one payload (``limit.blobSize.error``, 2 MiB); a larger signal is rejected."""

BATCH_OVERHEAD_BYTES = 1024
"""Room left for the signal's batch wrapper and payload metadata around one envelope."""

_SEQUENCE_TYPES = frozenset({"list", "tuple", "set", "frozenset"})
JSON_BYTES_CONFIG = ConfigDict(val_json_bytes="base64", ser_json_bytes="base64")


def type_name(cls: type) -> str:
    """Return the name a payload of this class travels under: builtins bare, others qualified."""
    if cls is type(None):
        return "None"
    if cls.__module__ == "builtins":
        return cls.__qualname__
    return f"{cls.__module__}.{cls.__qualname__}"


def encode(value: Any) -> tuple[str, str]:
    """Serialise a payload to its type name and JSON text.

    Raises:
        PayloadSerializationException: The value's type has no JSON form.
    """
    try:
        text = pydantic_core.to_json(value, bytes_mode="base64", fallback=_custom_type_to_json).decode()
    except (pydantic_core.PydanticSerializationError, TypeError, ValueError) as error:
        raise PayloadSerializationException(
            f"Cannot serialise a payload of type {type_name(type(value))}: {error}. "
            "Send pydantic models, primitives, or lists and dicts of them"
        ) from error
    return type_name(type(value)), text


def decode(expected: type[T], actual_type: str | None, text: str, *, context: str) -> T:
    """Validate a payload received as ``actual_type`` as an instance of ``expected``.

    Args:
        expected: The type the receiver asked for.
        actual_type: The sender's type name.
        text: The payload's JSON text.
        context: Where the payload came from, for error messages.

    Raises:
        PayloadTypeMismatchException: The payload is of another type, or does
            not validate as ``expected``.
    """
    expected_names = _accepted_type_names(expected)
    if expected_names is not None and actual_type not in expected_names:
        raise PayloadTypeMismatchException(
            f"Expected to receive {_display_name(expected)} but received {actual_type} {context}; "
            "check that both flows send and receive the same types in the same order"
        )
    return validate(expected, text, context=f"{actual_type} received {context}")  # type: ignore[no-any-return]


def validate(expected: Any, text: str, *, context: str) -> Any:
    """Validate JSON text as ``expected`` without comparing type names.

    For values whose sender cannot name the receiver's type, such as an
    external operation's argument, which flow code builds without importing
    the operation's module.
    """
    try:
        if isinstance(expected, type) and issubclass(expected, BaseModel):
            return expected.model_validate_json(text)
        return TypeAdapter(expected, config=JSON_BYTES_CONFIG).validate_json(text)
    except ValidationError as error:
        raise PayloadTypeMismatchException(
            f"The value ({context}) is not a valid {_display_name(expected)}: {_first_errors(error)}"
        ) from error


def check_size(size: int, *, what: str) -> None:
    """Raise when an encoded message of ``size`` bytes would exceed Temporal's payload limit."""
    limit = MAX_MESSAGE_BYTES - BATCH_OVERHEAD_BYTES
    if size > limit:
        raise PayloadSerializationException(
            f"{what} is {size} bytes encoded, over the limit of {limit} bytes "
            f"(Temporal rejects payloads over {MAX_MESSAGE_BYTES} bytes); "
            "send a reference to the data, or split it into several messages"
        )


def _custom_type_to_json(value: Any) -> Any:
    """Serialise a value of a type with its own pydantic schema, such as MemberX500Name."""
    if hasattr(type(value), "__get_pydantic_core_schema__"):
        return TypeAdapter(type(value)).dump_python(value, mode="json")
    raise TypeError(f"Unable to serialise unknown type: {type_name(type(value))}")


def _accepted_type_names(expected: Any) -> frozenset[str] | None:
    """Return the sender type names ``expected`` accepts, or None to accept any."""
    if expected is Any or expected is object:
        return None
    origin = typing.get_origin(expected)
    if origin is typing.Union or origin is types.UnionType:
        names: set[str] = set()
        for member in typing.get_args(expected):
            member_names = _accepted_type_names(member)
            if member_names is None:
                return None
            names |= member_names
        return frozenset(names)
    cls = origin or expected
    if not isinstance(cls, type):
        return None
    name = type_name(cls)
    if name == "float":
        return frozenset({"float", "int"})
    if name in _SEQUENCE_TYPES:
        return _SEQUENCE_TYPES
    return frozenset({name})


def _display_name(expected: Any) -> str:
    if isinstance(expected, type):
        return type_name(expected)
    return repr(expected)


def _first_errors(error: ValidationError, limit: int = 3) -> str:
    parts = []
    for item in error.errors()[:limit]:
        location = ".".join(str(part) for part in item["loc"]) or "value"
        parts.append(f"{location}: {item['msg']}")
    return "; ".join(parts)
