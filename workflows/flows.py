"""Flow types and annotations: the Python spelling of Corda 5's flow interfaces.

A CorDapp subclasses :class:`ClientStartableFlow` for flows started through
REST and :class:`ResponderFlow` for flows started by a counterparty's first
session message, and pairs them with :func:`initiating_flow` and
:func:`initiated_by` on a protocol name.

A flow runs another flow as a subflow by subclassing :class:`SubFlow` and
calling ``flow_engine.sub_flow``; an ``@initiating_flow`` subflow opens its
own sessions.

Every concrete flow class is also a Temporal workflow type, named by the
class's qualified name. Defining the class generates a workflow class beside
it in the same module (see :mod:`workflows.host`), so Temporal's sandbox can
re-import the CorDapp module on every run.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Generic, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError

from workflows.errors import CordaRuntimeException

if TYPE_CHECKING:
    from workflows.sessions import FlowSession

T = TypeVar("T")
K = TypeVar("K")
V = TypeVar("V")
FlowClass = TypeVar("FlowClass", bound=type)


@dataclass(frozen=True)
class FlowProtocol:
    """A protocol name and the versions one side of it supports."""

    protocol: Any
    versions: tuple[Any, ...]


class Flow:
    """Base of every flow type; CorDapps subclass one of its subclasses, never this one."""

    def __getattr__(self, name: str) -> Any:
        # Called only when normal lookup fails: explain the usual cause, an undeclared service.
        raise _missing_service_hint(self, name)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # The framework's own base classes are not flows of any CorDapp.
        if cls.__module__ == __name__:
            return
        from workflows.host import define_flow_workflow

        define_flow_workflow(cls)


_SERVICE_ATTRIBUTES = {
    "flow_engine": "FlowEngine",
    "flow_messaging": "FlowMessaging",
    "member_lookup": "MemberLookup",
    "json": "JsonMarshallingService",
    "json_marshalling_service": "JsonMarshallingService",
}


def _missing_service_hint(flow: object, name: str) -> AttributeError:
    service = _SERVICE_ATTRIBUTES.get(name)
    if service is None:
        return AttributeError(f"{type(flow).__qualname__!r} object has no attribute {name!r}")
    return AttributeError(
        f"{type(flow).__qualname__} has no attribute {name!r}: services are injected only into attributes "
        f"declared with their type; add '{name}: {service}' to the class body"
    )


class ClientStartableFlow(Flow):
    """A flow started through the REST API; its result becomes ``flowResult``."""

    async def call(self, request_body: ClientRequestBody) -> str | BaseModel | None:
        """Run the flow; return a string, or a pydantic model whose JSON becomes the result."""
        raise NotImplementedError


class SubFlow(Flow, Generic[T]):
    """A flow run from another flow with ``flow_engine.sub_flow``, as a child workflow.

    Any constructor is allowed. Its arguments travel to the child workflow as
    JSON, validated back by their annotations, so annotate them. Sessions
    among them (alone or in lists, tuples and dicts) are lent to the subflow
    and handed back with their sequence marks when it returns.
    """

    def __new__(cls, *args: Any, **kwargs: Any) -> SubFlow[T]:
        instance = super().__new__(cls)
        instance.__accord_arguments__ = (args, kwargs)  # type: ignore[attr-defined]
        return instance

    async def call(self) -> T:
        """Run the subflow and return its result to the calling flow."""
        raise NotImplementedError


class ResponderFlow(Flow):
    """A flow started on a counterparty's vnode by the first message of a session."""

    async def call(self, session: FlowSession) -> None:
        """Run the responder side of a session opened by an initiating flow."""
        raise NotImplementedError


def initiating_flow(protocol: str, version: Sequence[int] = (1,)) -> Callable[[FlowClass], FlowClass]:
    """Mark a flow as able to open sessions on ``protocol``, supporting ``version``.

    Registration checks the values and reports every problem at once.
    """

    def mark(cls: FlowClass) -> FlowClass:
        cls.__accord_initiating__ = FlowProtocol(protocol, _as_tuple(version))  # type: ignore[attr-defined]
        return cls

    return mark


def initiated_by(protocol: str, version: Sequence[int] = (1,)) -> Callable[[FlowClass], FlowClass]:
    """Mark a responder flow as the one started for sessions on ``protocol`` at ``version``."""

    def mark(cls: FlowClass) -> FlowClass:
        cls.__accord_initiated_by__ = FlowProtocol(protocol, _as_tuple(version))  # type: ignore[attr-defined]
        return cls

    return mark


def initiating_protocol(cls: type) -> FlowProtocol | None:
    """Return the protocol a flow class initiates, declared on the class itself."""
    return cls.__dict__.get("__accord_initiating__")


def responder_protocol(cls: type) -> FlowProtocol | None:
    """Return the protocol a responder class serves, declared on the class itself."""
    return cls.__dict__.get("__accord_initiated_by__")


def _as_tuple(version: Any) -> tuple[Any, ...]:
    if isinstance(version, (list, tuple)):
        return tuple(version)
    return (version,)


class ClientRequestBody:
    """The ``requestBody`` of a REST start request, as raw JSON text.

    Numbers sent as strings are accepted where the model wants a number
    (``"20"`` for an ``int`` field), as Corda's Jackson-based parsing does.
    """

    def __init__(self, request_body: str) -> None:
        self._request_body = request_body

    @property
    def request_body(self) -> str:
        """The raw JSON text of the request body."""
        return self._request_body

    def get_request_body_as(self, cls: type[T]) -> T:
        """Parse the body as ``cls``.

        Raises:
            CordaRuntimeException: The body is not JSON or does not validate as ``cls``.
        """
        return _parse_json(self._request_body, cls, what="request body")

    def get_request_body_as_list(self, cls: type[T]) -> list[T]:
        """Parse the body as a JSON array of ``cls``."""
        return _parse_json(self._request_body, list[cls], what="request body")  # type: ignore[valid-type]

    def get_request_body_as_map(self, key_cls: type[K], value_cls: type[V]) -> dict[K, V]:
        """Parse the body as a JSON object with ``key_cls`` keys and ``value_cls`` values."""
        return _parse_json(self._request_body, dict[key_cls, value_cls], what="request body")  # type: ignore[valid-type]


def _parse_json(text: str, cls: Any, *, what: str) -> Any:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise CordaRuntimeException(f"The {what} is not valid JSON: {error}") from error
    try:
        return TypeAdapter(cls).validate_python(value)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in item['loc']) or 'value'}: {item['msg']}"
            for item in error.errors()
        )
        name = getattr(cls, "__name__", repr(cls))
        raise CordaRuntimeException(f"The {what} is not a valid {name}: {problems}") from error
