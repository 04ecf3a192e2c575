"""Services a flow gets injected: the Python spelling of Corda's ``@CordaInject`` services.

A flow declares a class attribute annotated with a service type, such as
``flow_messaging: FlowMessaging``; the flow host sets it before ``call`` runs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any, TypeVar

import pydantic_core
from temporalio import workflow
from temporalio.common import RetryPolicy

from workflows import external, flows, naming, payloads
from workflows.context import ContextBuilder, FlowContextProperties
from workflows.envelopes import ExternalOperationInput, ExternalOperationResult
from workflows.errors import CordaRuntimeException
from workflows.identity import MemberX500Name
from workflows.session_manager import SessionManager
from workflows.sessions import FlowSession

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

T = TypeVar("T")
K = TypeVar("K")
V = TypeVar("V")


@dataclass(frozen=True)
class MemberInfo:
    """A member of the network, as ``MemberLookup`` returns it."""

    name: MemberX500Name
    short_hash: str


class FlowEngine:
    """The running flow's identity and context; subflows, durable waiting and external operations."""

    def __init__(
        self,
        manager: SessionManager,
        *,
        flow_id: str,
        virtual_node_name: MemberX500Name,
        context: FlowContextProperties,
        run_sub_flow: Callable[[Any], Awaitable[Any]],
    ) -> None:
        self._manager = manager
        self._flow_id = flow_id
        self._virtual_node_name = virtual_node_name
        self._context = context
        self._run_sub_flow = run_sub_flow
        self._operation_count = 0

    @property
    def flow_id(self) -> str:
        """The flow's ID: a UUID, distinct from the client request ID."""
        return self._flow_id

    @property
    def virtual_node_name(self) -> MemberX500Name:
        """The X.500 name of the vnode running this flow."""
        return self._virtual_node_name

    @property
    def flow_context_properties(self) -> FlowContextProperties:
        """The flow's context properties; ``put`` adds user properties seen by this flow and its subflows."""
        return self._context

    async def sub_flow(self, sub_flow: flows.SubFlow[T]) -> T:
        """Run a subflow as a child workflow and return its result.

        Sessions passed to the subflow's constructor are lent to it and come
        back with their sequence marks. The subflow's exception is raised here
        as its own class when this flow's code can load it.
        """
        if not isinstance(sub_flow, flows.SubFlow):
            raise CordaRuntimeException(
                f"sub_flow takes a SubFlow instance, got {type(sub_flow).__qualname__}; subclass SubFlow"
            )
        return await self._run_sub_flow(sub_flow)

    async def execute_external_operation(
        self,
        operation: str,
        argument: Any = None,
        *,
        result_type: type[T] | Any = Any,
        timeout: timedelta | float = external.DEFAULT_TIMEOUT_SECONDS,
        maximum_attempts: int = external.DEFAULT_MAXIMUM_ATTEMPTS,
    ) -> T:
        """Run a CorDapp's external operation as an activity and return its result as ``result_type``.

        Args:
            operation: The qualified name of a function marked ``@external_operation``.
            argument: Its one argument: a pydantic model, primitive, or list or dict of them.
            result_type: The type to validate the result as.
            timeout: Maximum time one attempt may take (a timedelta or seconds).
            maximum_attempts: Attempts before the call fails; 1 means no retry.

        Raises:
            CordaRuntimeException: The operation failed after its attempts, or
                raised a CordaRuntimeException, or is not declared by the vnode's CorDapps.
        """
        self._operation_count += 1
        key = f"{workflow.info().workflow_id}/op/{self._operation_count}"
        argument_type, text = payloads.encode(argument)
        if not isinstance(timeout, timedelta):
            timeout = timedelta(seconds=timeout)
        self._manager.set_step(f"running external operation {operation}")
        result = await self._manager.run_activity(
            workflow.start_activity(
                naming.EXTERNAL_OPERATION_ACTIVITY,
                ExternalOperationInput(
                    operation=operation,
                    argument_type=argument_type,
                    argument=text,
                    idempotency_key=key,
                    flow_id=self._flow_id,
                    vnode=str(self._virtual_node_name),
                ),
                result_type=ExternalOperationResult,
                start_to_close_timeout=timeout,
                retry_policy=RetryPolicy(maximum_attempts=maximum_attempts, maximum_interval=timedelta(seconds=30)),
                summary=operation,
            ),
            describe=f"External operation {operation}",
        )
        self._manager.set_step("running")
        return payloads.validate(result_type, result.result, context=f"returned by {operation}")

    def patched(self, change_id: str) -> bool:
        """Return whether this run of the flow takes the new code path of a change named ``change_id``.

        Flows started before the change replay the old path; new ones take
        the new path. Keep both until no flow started before the change runs.
        """
        return workflow.patched(change_id)

    def deprecate_patch(self, change_id: str) -> None:
        """Mark that no running flow still needs the old path of ``change_id``."""
        workflow.deprecate_patch(change_id)

    async def sleep(self, duration: timedelta | float) -> None:
        """Suspend the flow on a durable timer for ``duration`` (a timedelta or seconds).

        The flow survives worker restarts while it sleeps. Open sessions keep
        their timeout, so a sleep longer than it fails the flow.
        """
        if not isinstance(duration, timedelta):
            duration = timedelta(seconds=duration)
        await self._manager.sleep(duration)


class FlowMessaging:
    """Opens sessions to counterparties and sends to or receives from several at once."""

    def __init__(
        self,
        manager: SessionManager,
        *,
        flow_class: type,
        default_timeout_seconds: float,
        context: FlowContextProperties,
    ) -> None:
        self._manager = manager
        self._flow_class = flow_class
        self._default_timeout_seconds = default_timeout_seconds
        self._context = context

    def initiate_flow(
        self,
        name: MemberX500Name | str,
        *,
        require_close: bool = True,
        timeout: timedelta | float | None = None,
        context: ContextBuilder | None = None,
    ) -> FlowSession:
        """Create a session to ``name``; nothing is sent until the session is first used.

        Args:
            name: The counterparty's X.500 name.
            require_close: Whether closing waits for the responder to close its
                side (Corda 5.1+ semantics).
            timeout: Maximum time without an inbound message before the flow
                fails; defaults to the network's session timeout.
            context: A builder called with a copy of the flow's context
                properties; what it puts goes to this session only.

        Raises:
            CordaRuntimeException: The running flow is not an ``@initiating_flow``.
            Exception: Whatever the context builder raises.
        """
        protocol = flows.initiating_protocol(self._flow_class)
        if protocol is None:
            raise CordaRuntimeException(
                f"{self._flow_class.__qualname__} cannot open a session to {name}: only a flow marked "
                "@initiating_flow can; add @initiating_flow(protocol=...) to it, or call an initiating flow"
            )
        counterparty = name if isinstance(name, MemberX500Name) else MemberX500Name.parse(name)
        if timeout is None:
            timeout_seconds = self._default_timeout_seconds
        elif isinstance(timeout, timedelta):
            timeout_seconds = timeout.total_seconds()
        else:
            timeout_seconds = float(timeout)
        if timeout_seconds <= 0:
            raise CordaRuntimeException(f"Session timeout must be positive, got {timeout_seconds} s")
        snapshot = self._context.copy()
        if context is not None:
            context(snapshot)
        return self._manager.create_initiator_session(
            counterparty,
            protocol=protocol.protocol,
            versions=tuple(protocol.versions),
            require_close=require_close,
            timeout_seconds=timeout_seconds,
            context=snapshot.snapshot(),
        )

    async def send_all(self, payload: Any, sessions: Iterable[FlowSession]) -> None:
        """Send the same payload on every session; nothing is sent if any session is unusable."""
        targets = list(sessions)
        for session in targets:
            session._check_usable("send")
        for session in targets:
            await session.send(payload)

    async def send_all_map(self, payloads: Mapping[FlowSession, Any]) -> None:
        """Send each session its own payload; nothing is sent if any session is unusable."""
        for session in payloads:
            session._check_usable("send")
        for session, payload in payloads.items():
            await session.send(payload)

    async def receive_all(self, receive_type: type[T], sessions: Iterable[FlowSession]) -> list[T]:
        """Receive one message of ``receive_type`` from every session, in the order given."""
        return await self._manager.receive_all([(session, receive_type) for session in sessions])

    async def receive_all_map(self, types: Mapping[FlowSession, type[Any]]) -> dict[FlowSession, Any]:
        """Receive one message from every session, each as its own type."""
        wanted = list(types.items())
        results = await self._manager.receive_all(wanted)
        return {session: result for (session, _), result in zip(wanted, results)}


class MemberLookup:
    """Finds members of the network the flow's vnode belongs to."""

    def __init__(self, manager: SessionManager, *, my_name: MemberX500Name) -> None:
        self._manager = manager
        self._my_name = my_name

    async def my_info(self) -> MemberInfo:
        """Return this vnode's own member information."""
        info = await self.lookup(self._my_name)
        assert info is not None, "a running vnode is always a member of its network"
        return info

    async def lookup(self, name: MemberX500Name | str) -> MemberInfo | None:
        """Return the member called ``name``, or None when the network has no such member."""
        parsed = name if isinstance(name, MemberX500Name) else MemberX500Name.parse(name)
        summary = await self._manager.lookup_member(parsed)
        if summary is None:
            return None
        return MemberInfo(name=MemberX500Name.parse(summary.name), short_hash=summary.short_hash)


class JsonMarshallingService:
    """Formats values as JSON and parses JSON into typed values, as Corda's service of that name."""

    def format(self, value: Any) -> str:
        """Return the JSON text of a value: pydantic models, primitives, lists and dicts of them."""
        try:
            return pydantic_core.to_json(value).decode()
        except pydantic_core.PydanticSerializationError as error:
            raise CordaRuntimeException(f"Cannot format a {type(value).__qualname__} as JSON: {error}") from error

    def parse(self, text: str, cls: type[T]) -> T:
        """Parse JSON text as ``cls``."""
        return flows._parse_json(text, cls, what="JSON text")

    def parse_list(self, text: str, cls: type[T]) -> list[T]:
        """Parse a JSON array whose items are ``cls``."""
        return flows._parse_json(text, list[cls], what="JSON text")  # type: ignore[valid-type]

    def parse_map(self, text: str, key_cls: type[K], value_cls: type[V]) -> dict[K, V]:
        """Parse a JSON object with ``key_cls`` keys and ``value_cls`` values."""
        return flows._parse_json(text, dict[key_cls, value_cls], what="JSON text")  # type: ignore[valid-type]


