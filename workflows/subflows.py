"""Subflows as child workflows: arguments, lent sessions, results and failures.

``flow_engine.sub_flow(sub)`` starts the child workflow ``<parentId>/sub/<n>``
on the same task queue, with parent close policy REQUEST_CANCEL so a failed
or killed parent cancels it. The subflow's constructor arguments go into the
child's input as JSON. Sessions among them are lent: the parent snapshots
them (sequence marks, unread and queued messages), then stops using them and
counting their timeout until the child hands them back in its result or in
the details of its failure. Messages that still reach the parent meanwhile
are forwarded to the child and kept, so none is lost whichever way the
child ends.

A subflow's exception is raised again in the parent as its own class when
the parent can find that class, and as ``CordaRuntimeException`` carrying
the class name and message otherwise.
"""

from __future__ import annotations

import inspect
import json
import sys
import typing
from collections import OrderedDict
from typing import Any

from pydantic import TypeAdapter

from workflows import payloads
from workflows.errors import CordaRuntimeException
from workflows.sessions import FlowSession

SESSION_MARKER = "__accord_session__"


def bound_arguments(sub_flow: Any) -> inspect.BoundArguments:
    """Return the arguments a subflow was constructed with, bound to its constructor's parameters."""
    args, kwargs = getattr(sub_flow, "__accord_arguments__", ((), {}))
    signature = inspect.signature(type(sub_flow).__init__)
    bound = signature.bind(None, *args, **kwargs)
    bound.arguments.pop(next(iter(signature.parameters)))
    return bound


def encode_arguments(sub_flow: Any) -> tuple[str, list[FlowSession]]:
    """Serialise a subflow's constructor arguments, replacing sessions by markers.

    Returns the JSON text and the sessions found, in order of appearance.
    """
    sessions: list[FlowSession] = []
    encoded = {name: _encode_value(value, sessions) for name, value in bound_arguments(sub_flow).arguments.items()}
    return json.dumps(encoded), sessions


def decode_arguments(cls: type, text: str, sessions: dict[str, FlowSession]) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """Rebuild constructor arguments in the child, validating each by its annotation."""
    signature = inspect.signature(cls.__init__)
    hints = typing.get_type_hints(cls.__init__)
    values = json.loads(text)
    arguments: OrderedDict[str, Any] = OrderedDict()
    arguments[next(iter(signature.parameters))] = None
    for name, raw in values.items():
        value = _decode_value(raw, sessions)
        annotation = hints.get(name)
        parameter = signature.parameters[name]
        if parameter.kind is inspect.Parameter.VAR_POSITIONAL and annotation is not None:
            annotation = tuple[annotation, ...]  # type: ignore[valid-type]
        elif parameter.kind is inspect.Parameter.VAR_KEYWORD and annotation is not None:
            annotation = dict[str, annotation]  # type: ignore[valid-type]
        arguments[name] = _validate(value, annotation)
    bound = inspect.BoundArguments(signature, arguments)
    return bound.args[1:], bound.kwargs


def _encode_value(value: Any, sessions: list[FlowSession]) -> Any:
    if isinstance(value, FlowSession):
        sessions.append(value)
        return {SESSION_MARKER: value.session_id}
    if isinstance(value, (list, tuple)):
        return [_encode_value(item, sessions) for item in value]
    if isinstance(value, dict) and any(isinstance(item, FlowSession) for item in value.values()):
        return {key: _encode_value(item, sessions) for key, item in value.items()}
    _, text = payloads.encode(value)
    return json.loads(text)


def _decode_value(value: Any, sessions: dict[str, FlowSession]) -> Any:
    if isinstance(value, dict) and set(value) == {SESSION_MARKER}:
        return sessions[value[SESSION_MARKER]]
    if isinstance(value, list):
        return [_decode_value(item, sessions) for item in value]
    if isinstance(value, dict):
        return {key: _decode_value(item, sessions) for key, item in value.items()}
    return value


def _validate(value: Any, annotation: Any) -> Any:
    if annotation is None or annotation is Any:
        return value
    if _mentions_session(annotation):
        origin = typing.get_origin(annotation)
        return tuple(value) if origin is tuple and isinstance(value, list) else value
    return TypeAdapter(annotation, config=payloads.JSON_BYTES_CONFIG).validate_python(value)


def _mentions_session(annotation: Any) -> bool:
    if annotation is FlowSession:
        return True
    return any(_mentions_session(argument) for argument in typing.get_args(annotation))


def result_type(cls: type) -> Any:
    """Return the type a subflow's ``call`` is annotated to return, or Any."""
    try:
        return typing.get_type_hints(cls.call).get("return", Any)
    except (NameError, TypeError):
        return Any


def decode_result(cls: type, type_name: str, text: str) -> Any:
    expected = result_type(cls)
    if isinstance(expected, typing.TypeVar):
        expected = Any
    return payloads.decode(expected, type_name, text, context=f"as the result of subflow {cls.__qualname__}")


def rebuild_exception(class_name: str, message: str) -> BaseException:
    """Re-create a subflow's exception as its own class when loaded here, else as CordaRuntimeException."""
    module_name, _, qualified = class_name.rpartition(".")
    found: Any = sys.modules.get(module_name)
    for part in qualified.split("."):
        found = getattr(found, part, None)
    if isinstance(found, type) and issubclass(found, Exception):
        # Built without calling its constructor, whose parameters may differ from (message,).
        error = found.__new__(found)
        Exception.__init__(error, message)
        if isinstance(error, CordaRuntimeException):
            error.message = message
            error.original_exception_class_name = None
            error.original_message = None
        return error
    return CordaRuntimeException(
        f"{class_name}: {message}", original_exception_class_name=class_name, original_message=message
    )
