"""Flow context properties, as Corda 5 keeps them.

A flow's context has two string-to-string layers: platform properties, set
by Accord under keys starting ``corda.``, and user properties, set by flow
code. ``get`` looks in the platform layer first. Flow code may only ``put``
user properties, under keys that are neither platform keys nor start with
``corda.`` in any letter case.

Scope follows the flow stack: a subflow starts with a copy of its parent's
context, and what it puts stays with it and the flows it starts. A session
takes a snapshot of the context when ``initiate_flow`` creates it, after the
optional builder has added to a copy. On the responder, the initiator's user
properties arrive unchanged and its platform properties are renamed from
``corda.X`` to ``corda.initiator.X``, under the responder's own platform
properties.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from workflows.envelopes import FlowContext
from workflows.errors import CordaRuntimeException

PLATFORM_PREFIX = "corda."
INITIATOR_PREFIX = "corda.initiator."

CLIENT_ID = "corda.client.id"
ACCOUNT = "corda.account"
DEFAULT_ACCOUNT = "account-zero"
PLATFORM_VERSION = "corda.initialPlatformVersion"
SOFTWARE_VERSION = "corda.initialSoftwareVersion"
CPI_NAME = "corda.cpiName"

ACCORD_PLATFORM_VERSION = "50200"
"""The Corda platform version whose flow API Accord follows (5.2)."""
ACCORD_SOFTWARE_VERSION = "accord-0.1.0"


class FlowContextPropertyError(CordaRuntimeException, ValueError):
    """Flow code tried to set a platform property, or to change read-only properties."""


class FlowContextProperties:
    """A flow's or a session's context properties.

    Flow code reads them with ``get`` and adds user properties with ``put``;
    a session's properties are read-only.
    """

    def __init__(self, platform: Mapping[str, str], user: Mapping[str, str], *, read_only: bool = False) -> None:
        self._platform = dict(platform)
        self._user = dict(user)
        self._read_only = read_only

    def get(self, key: str) -> str | None:
        """Return the value of ``key``: a platform property if there is one, else a user property."""
        if key in self._platform:
            return self._platform[key]
        return self._user.get(key)

    def put(self, key: str, value: str) -> None:
        """Set a user property.

        Raises:
            FlowContextPropertyError: The properties are read-only, ``key`` is
                a platform key or starts with ``corda.``, or either argument
                is not a string.
        """
        if self._read_only:
            raise FlowContextPropertyError(
                f"Cannot put {key!r}: a session's context properties are read-only; put properties on "
                "flow_engine.flow_context_properties before initiate_flow, or in its context builder"
            )
        if not isinstance(key, str) or not isinstance(value, str):
            raise FlowContextPropertyError(
                f"Context properties are strings; got key {key!r} ({type(key).__name__}) "
                f"and value of type {type(value).__name__}"
            )
        if key in self._platform or key.lower().startswith(PLATFORM_PREFIX):
            raise FlowContextPropertyError(
                f"Cannot put {key!r}: keys starting with {PLATFORM_PREFIX!r} are reserved for platform "
                "properties; choose another key"
            )
        self._user[key] = value

    def to_dict(self) -> dict[str, str]:
        """Return every property, platform ones winning over user ones of the same key."""
        return {**self._user, **self._platform}

    def snapshot(self) -> FlowContext:
        return FlowContext(platform=dict(self._platform), user=dict(self._user))

    def copy(self) -> FlowContextProperties:
        return FlowContextProperties(self._platform, self._user)

    def __repr__(self) -> str:
        return f"FlowContextProperties({self.to_dict()!r})"


ContextBuilder = Callable[[FlowContextProperties], None]


def initial_platform_properties(*, client_id: str, cordapps: str) -> dict[str, str]:
    """Return the platform properties Accord sets when a flow starts."""
    return {
        CLIENT_ID: client_id,
        ACCOUNT: DEFAULT_ACCOUNT,
        PLATFORM_VERSION: ACCORD_PLATFORM_VERSION,
        SOFTWARE_VERSION: ACCORD_SOFTWARE_VERSION,
        CPI_NAME: cordapps,
    }


def renamed_for_responder(platform: Mapping[str, str]) -> dict[str, str]:
    """Rename an initiator's platform properties from ``corda.X`` to ``corda.initiator.X``.

    The renaming goes one level deep: properties the initiator itself got
    from its own initiator are not passed on.
    """
    return {
        INITIATOR_PREFIX + key[len(PLATFORM_PREFIX) :]: value
        for key, value in platform.items()
        if key.startswith(PLATFORM_PREFIX) and not key.startswith(INITIATOR_PREFIX)
    }


def responder_context(
    own_platform: Mapping[str, str], initiator: FlowContext
) -> tuple[FlowContext, FlowContext]:
    """Return a responder's flow context and its session's context, from the initiator's snapshot."""
    renamed = renamed_for_responder(initiator.platform)
    flow_context = FlowContext(platform={**renamed, **own_platform}, user=dict(initiator.user))
    session_context = FlowContext(platform=renamed, user=dict(initiator.user))
    return flow_context, session_context
