"""Sessions between flows, carried by Temporal signals.

A session joins an initiating flow to the responder flow its first message
starts on the counterparty's vnode. Each side keeps a :class:`FlowSession`
with an inbox that restores order by sequence number and drops duplicates,
so signals may arrive in any order and more than once.

Session states, as in Corda 5.1+:

- ``CREATED``: made by ``initiate_flow``; nothing sent yet (initiator only).
- ``INITIATING``: first used. The session-initiation activity is starting the
  responder; messages sent meanwhile queue behind the init message.
- ``CONFIRMED``: the peer workflow exists; messages are signalled to it.
- ``CLOSED``: ended normally. The responder sends ``close`` when it ends the
  session with ``require_close``; the initiator's ``close()`` waits for it.
- ``ERROR``: the counterparty failed, rejected the session, or a message
  could not be delivered; every later call on the session raises.

``send`` does not wait for delivery: the envelope goes into an outbox that a
background task signals out once the flow blocks, so the sends of one step
share one signal. Every exit of the flow drains the outbox first
(``SessionManager.drain`` in :mod:`workflows.session_manager`): on the dev server a signal issued in the task
that closes the workflow would be lost.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import TYPE_CHECKING, Any, TypeVar

from workflows import payloads
from workflows.context import FlowContextProperties
from workflows.envelopes import FlowContext, SessionEnvelope, SessionError, SessionSnapshot, SessionView
from workflows.errors import CordaRuntimeException, CordaSessionException
from workflows.identity import MemberX500Name

if TYPE_CHECKING:
    from workflows.session_manager import SessionManager

T = TypeVar("T")

GENERIC_FAILURE = "FLOW_FAILED"
"""Error type sent to counterparties for a failure that is not a CordaRuntimeException."""


class SessionState(str, Enum):
    CREATED = "CREATED"
    INITIATING = "INITIATING"
    CONFIRMED = "CONFIRMED"
    CLOSED = "CLOSED"
    ERROR = "ERROR"


@dataclass(frozen=True)
class FlowInfo:
    """The protocol and the version the two sides of a session agreed on."""

    protocol: str
    protocol_version: int


class FlowSession:
    """One side of a session with a counterparty flow.

    Obtain initiator sessions from ``FlowMessaging.initiate_flow``; a
    responder receives its session as the argument of ``call``.
    """

    def __init__(
        self,
        manager: SessionManager,
        *,
        session_id: str,
        counterparty: MemberX500Name,
        role: str,
        protocol: str,
        protocol_versions: tuple[int, ...],
        require_close: bool,
        timeout_seconds: float,
    ) -> None:
        self._manager = manager
        self._session_id = session_id
        self._counterparty = counterparty
        self._role = role
        self._protocol = protocol
        self._protocol_versions = protocol_versions
        self._protocol_version: int | None = None
        self._require_close = require_close
        self._timeout_seconds = timeout_seconds
        self._state = SessionState.CREATED
        self._error: CordaSessionException | None = None
        self._counterparty_hash: str | None = None
        self._peer_workflow_id: str | None = None
        self._next_send_seq = 1
        self._next_receive_seq = 1
        self._inbox: dict[int, SessionEnvelope] = {}
        self._outbox: list[tuple[SessionEnvelope, int]] = []
        self._init_task: asyncio.Task[None] | None = None
        self._last_inbound: datetime | None = None
        # Routing: the counterparty's flow that owns the session, and the
        # workflow it last asked to be sent to (the reply-to of its highest
        # message), which differs while it lends the session to a subflow.
        self._peer_home_workflow_id: str | None = None
        self._route_seq = 0
        self._owned = True
        self._route_announced = False
        self._lent_to: str | None = None
        self._context = FlowContext()

    def __repr__(self) -> str:
        return f"FlowSession({self._session_id}, {self._counterparty}, {self._state.value})"

    @property
    def counterparty(self) -> MemberX500Name:
        """The X.500 name of the vnode at the other end of the session."""
        return self._counterparty

    @property
    def session_id(self) -> str:
        """The session's ID; the responder's workflow ID ends with it plus ``-INITIATED``."""
        return self._session_id

    @property
    def state(self) -> SessionState:
        return self._state

    @property
    def context_properties(self) -> FlowContextProperties:
        """The session's read-only context: the initiator's snapshot at ``initiate_flow``.

        On the responder, the initiator's platform properties appear renamed
        to ``corda.initiator.*``.
        """
        return FlowContextProperties(self._context.platform, self._context.user, read_only=True)

    async def send(self, payload: Any) -> None:
        """Send a payload to the counterparty without waiting for delivery.

        Raises:
            CordaSessionException: The session is closed or errored.
            PayloadSerializationException: The payload cannot be serialised or is too large.
        """
        self._check_usable("send")
        try:
            payload_type, text = payloads.encode(payload)
        except CordaRuntimeException as error:
            raise type(error)(f"{error.message} (session {self._session_id} with {self._counterparty})") from error
        # Checked before the session opens, so an oversized first message starts no responder.
        seq = self._next_send_seq + (1 if self._state is SessionState.CREATED else 0)
        envelope = self._envelope("data", seq, payload_type=payload_type, payload=text)
        size = self._checked_size(envelope)
        await self._manager.ensure_initiated(self)
        self._check_usable("send")
        self._route_announced = True
        self._append(envelope.model_copy(update={"seq": self._next_send_seq}), size)

    async def receive(self, receive_type: type[T]) -> T:
        """Wait for the next message from the counterparty and return it as ``receive_type``.

        Raises:
            CordaSessionException: The session is closed or errored, or the
                counterparty failed or ended the session.
            PayloadTypeMismatchException: The message is of another type.
        """
        return (await self._manager.receive_all([(self, receive_type)]))[0]

    async def send_and_receive(self, receive_type: type[T], payload: Any) -> T:
        """Send a payload, then wait for the counterparty's reply as ``receive_type``."""
        await self.send(payload)
        return await self.receive(receive_type)

    async def close(self) -> None:
        """Close the session, as Corda 5.1+ does.

        The initiator waits for the responder to close its side when the
        session requires it; the responder sends that close. Closing a closed
        session does nothing. Closing with unread messages errors the session.
        """
        if self._state is SessionState.CLOSED:
            return
        if self._state is SessionState.ERROR:
            raise self._closing_error()
        if self._state is SessionState.CREATED:
            self._state = SessionState.CLOSED
            return
        if self._role == "responder":
            self._close_as_responder()
            return
        if not self._require_close:
            self._state = SessionState.CLOSED
            return
        await self._manager.wait(
            lambda: self._has_next() or self._error is not None,
            step=f"waiting for {self._counterparty} to close session {self._session_id}",
        )
        if self._error is not None:
            raise self._closing_error()
        envelope = self._inbox[self._next_receive_seq]
        if envelope.kind == "close":
            self._take_next()
            self._state = SessionState.CLOSED
            return
        if envelope.kind == "error":
            self._take_next()
            self._fail_from_counterparty(envelope)
            raise self._closing_error()
        self._fail_with_unread_data()
        raise self._closing_error()

    async def get_counterparty_flow_info(self) -> FlowInfo:
        """Return the protocol and version the counterparty's flow runs, starting it if needed."""
        if self._protocol_version is None:
            self._check_usable("get the counterparty flow info of")
            await self._manager.ensure_initiated(self)
            await self._manager.wait(
                lambda: self._protocol_version is not None or self._error is not None,
                step=f"waiting for {self._counterparty} to start its responder",
            )
            if self._protocol_version is None:
                raise self._error_or_closed("get the counterparty flow info of")
        return FlowInfo(protocol=self._protocol, protocol_version=self._protocol_version)

    # Framework side: used by SessionManager and the flow host.

    def _snapshot(self) -> SessionSnapshot:
        """Return the session's whole state, taking its queued messages with it."""
        outbox = [envelope for envelope, _ in self._outbox]
        self._outbox.clear()
        error = None
        if self._error is not None:
            error = SessionError(
                error_type=self._error.original_exception_class_name or "", message=self._error.message
            )
        return SessionSnapshot(
            session_id=self._session_id,
            counterparty=str(self._counterparty),
            role="initiator" if self._role == "initiator" else "responder",
            protocol=self._protocol,
            protocol_versions=list(self._protocol_versions),
            protocol_version=self._protocol_version,
            require_close=self._require_close,
            timeout_seconds=self._timeout_seconds,
            state=self._state.value,
            error=error,
            counterparty_hash=self._counterparty_hash,
            peer_workflow_id=self._peer_workflow_id,
            peer_home_workflow_id=self._peer_home_workflow_id,
            route_seq=self._route_seq,
            next_send_seq=self._next_send_seq,
            next_receive_seq=self._next_receive_seq,
            inbox=[self._inbox[seq] for seq in sorted(self._inbox)],
            outbox=outbox,
            last_inbound=self._last_inbound,
            context_platform=self._context.platform,
            context_user=self._context.user,
        )

    def _restore(self, snapshot: SessionSnapshot) -> None:
        """Take back the state a subflow returns; messages that reached this workflow meanwhile are kept."""
        self._state = SessionState(snapshot.state)
        self._protocol_version = snapshot.protocol_version
        self._counterparty_hash = snapshot.counterparty_hash
        self._peer_home_workflow_id = snapshot.peer_home_workflow_id
        self._next_send_seq = max(self._next_send_seq, snapshot.next_send_seq)
        self._next_receive_seq = snapshot.next_receive_seq

        for envelope in snapshot.inbox:
            self._inbox.setdefault(envelope.seq, envelope)
        for seq in [seq for seq in self._inbox if seq < self._next_receive_seq]:
            del self._inbox[seq]

        # The route comes from whichever side saw the counterparty's latest message.
        if snapshot.route_seq >= self._route_seq or self._peer_workflow_id is None:
            self._route_seq = snapshot.route_seq
            self._peer_workflow_id = snapshot.peer_workflow_id
        if snapshot.last_inbound is not None and (
            self._last_inbound is None or snapshot.last_inbound > self._last_inbound
        ):
            self._last_inbound = snapshot.last_inbound

        self._error = None
        if snapshot.error is not None:
            self._error = self._session_error(snapshot.error.message)
            self._error.original_exception_class_name = snapshot.error.error_type or None
        self._outbox.extend((envelope, len(envelope.model_dump_json().encode())) for envelope in snapshot.outbox)
        self._lent_to = None
        self._route_announced = False
        self._skip_control_messages()
        if self._outbox:
            self._manager.schedule_flush()

    @classmethod
    def _from_snapshot(cls, manager: SessionManager, snapshot: SessionSnapshot) -> FlowSession:
        session = cls(
            manager,
            session_id=snapshot.session_id,
            counterparty=MemberX500Name.parse(snapshot.counterparty),
            role=snapshot.role,
            protocol=snapshot.protocol,
            protocol_versions=tuple(snapshot.protocol_versions),
            require_close=snapshot.require_close,
            timeout_seconds=snapshot.timeout_seconds,
        )
        session._context = FlowContext(platform=snapshot.context_platform, user=snapshot.context_user)
        session._restore(snapshot)
        session._owned = False
        return session

    def _view(self) -> SessionView:
        return SessionView(
            session_id=self._session_id,
            counterparty=str(self._counterparty),
            state=self._state.value,
            role="initiator" if self._role == "initiator" else "responder",
        )

    def _is_open(self) -> bool:
        return self._state in (SessionState.INITIATING, SessionState.CONFIRMED)

    def _deadline(self) -> datetime | None:
        if not self._is_open() or self._last_inbound is None or self._lent_to is not None:
            return None
        return self._last_inbound + timedelta(seconds=self._timeout_seconds)

    def _check_usable(self, operation: str) -> None:
        if self._lent_to is not None:
            raise self._session_error(
                f"Cannot {operation} session {self._session_id} with {self._counterparty}: the session is lent "
                f"to subflow {self._lent_to} until it returns"
            )
        if self._state in (SessionState.CLOSED, SessionState.ERROR):
            raise self._error_or_closed(operation)

    def _announce_route(self) -> None:
        """Tell the counterparty to send to this workflow, when it has a lent session and has not sent on it yet."""
        if self._owned or self._route_announced or not self._is_open():
            return
        self._route_announced = True
        self._enqueue("route")

    def _error_or_closed(self, operation: str) -> CordaSessionException:
        if self._error is not None:
            return self._error
        return self._session_error(
            f"Cannot {operation} session {self._session_id} with {self._counterparty}: the session is closed"
        )

    def _closing_error(self) -> CordaSessionException:
        cause = self._error.message if self._error is not None else "the session is in error"
        return self._session_error(f"Failed to close session {self._session_id} with {self._counterparty}: {cause}")

    def _session_error(self, message: str) -> CordaSessionException:
        return CordaSessionException(message, session_id=self._session_id, counterparty=str(self._counterparty))

    def _has_next(self) -> bool:
        return self._next_receive_seq in self._inbox

    def _take_next(self) -> SessionEnvelope:
        envelope = self._inbox.pop(self._next_receive_seq)
        self._next_receive_seq += 1
        return envelope

    def _accept(self, envelope: SessionEnvelope, now: datetime) -> bool:
        """Put an inbound envelope in the inbox; return False for a duplicate."""
        if envelope.seq < self._next_receive_seq or envelope.seq in self._inbox:
            return False
        self._inbox[envelope.seq] = envelope
        self._last_inbound = now
        if envelope.seq > self._route_seq:
            self._route_seq = envelope.seq
            if self._peer_workflow_id is not None:
                self._peer_workflow_id = envelope.reply_to
        self._skip_control_messages()
        if self._lent_to is not None:
            return True
        if self._state is SessionState.CLOSED and self._role == "responder" and self._has_next():
            self._fail_with_unread_data(reason="received data after the responder closed the session")
        return True

    def _skip_control_messages(self) -> None:
        # Init and route messages only set up the session, which already has their effect.
        while self._has_next() and self._inbox[self._next_receive_seq].kind in ("init", "route"):
            self._take_next()

    def _take(self, receive_type: type[T]) -> T:
        """Consume the next inbound message as ``receive_type``; the caller waited for one."""
        if self._error is not None:
            raise self._error
        envelope = self._take_next()
        if envelope.kind == "data":
            return payloads.decode(
                receive_type,
                envelope.payload_type,
                envelope.payload or "null",
                context=f"on session {self._session_id} from {self._counterparty}",
            )
        if envelope.kind == "error":
            self._fail_from_counterparty(envelope)
            raise self._error  # type: ignore[misc]
        self._state = SessionState.CLOSED
        raise self._session_error(
            f"Session {self._session_id} with {self._counterparty} was closed by the counterparty "
            f"while this flow waited to receive {payloads.type_name(receive_type) if isinstance(receive_type, type) else receive_type}; "
            "check that both flows send and receive the same number of messages"
        )

    def _enqueue(self, kind: str, **fields: Any) -> None:
        envelope = self._envelope(kind, self._next_send_seq, **fields)
        self._append(envelope, self._checked_size(envelope))

    def _envelope(self, kind: str, seq: int, **fields: Any) -> SessionEnvelope:
        return SessionEnvelope(
            session_id=self._session_id,
            seq=seq,
            kind=kind,  # type: ignore[arg-type]
            sender=str(self._manager.vnode),
            reply_to=self._manager.workflow_id,
            **fields,
        )

    def _checked_size(self, envelope: SessionEnvelope) -> int:
        size = len(envelope.model_dump_json().encode())
        payloads.check_size(size, what=f"The message to {self._counterparty} on session {self._session_id}")
        return size

    def _append(self, envelope: SessionEnvelope, size: int) -> None:
        self._next_send_seq += 1
        self._outbox.append((envelope, size))
        self._manager.schedule_flush()

    def _fail_locally(self, message: str) -> None:
        """Move the session to ERROR for a local reason; the next blocking call raises ``message``."""
        if self._state is SessionState.ERROR:
            return
        self._state = SessionState.ERROR
        self._error = self._session_error(message)

    def _fail_from_counterparty(self, envelope: SessionEnvelope) -> None:
        error = envelope.error or SessionError(error_type=GENERIC_FAILURE, message="")
        if error.error_type == GENERIC_FAILURE:
            message = (
                f"Counterparty flow on {envelope.sender} ended with an error on session {self._session_id}; "
                "its node's logs and flow status have the details"
            )
        else:
            message = f"Counterparty {envelope.sender} failed on session {self._session_id}: {error.message}"
        self._state = SessionState.ERROR
        self._error = self._session_error(message)
        self._error.original_exception_class_name = error.error_type
        self._error.original_message = error.message

    def _fail_with_unread_data(self, reason: str = "it was closed with unread messages from the counterparty") -> None:
        self._send_error(
            SessionError(error_type=CordaSessionException.__name__, message=f"Session {self._session_id} failed: {reason}")
        )
        self._fail_locally(
            f"Session {self._session_id} with {self._counterparty} failed because {reason}; "
            "receive every message the counterparty sends before closing"
        )

    def _send_error(self, error: SessionError) -> None:
        if self._state in (SessionState.CREATED, SessionState.ERROR):
            return
        self._enqueue("error", error=error)

    def _close_as_responder(self) -> None:
        if self._has_next() and self._inbox[self._next_receive_seq].kind == "error":
            self._fail_from_counterparty(self._take_next())
            raise self._closing_error()
        if self._has_next() or self._inbox:
            self._fail_with_unread_data()
            raise self._closing_error()
        if self._require_close:
            self._enqueue("close")
        self._state = SessionState.CLOSED
