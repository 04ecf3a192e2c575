"""A flow's sessions within one workflow: creation, inbound signals, delivery, waits and lending.

One :class:`SessionManager` lives in each flow's workflow. It owns the
workflow's :class:`~workflows.sessions.FlowSession` objects and does what
needs Temporal:

- the synchronous session signal handler puts envelopes into inboxes;
- a background task signals queued envelopes to peer workflows, or runs the
  session-initiation activity first, bounding undelivered bytes;
- every wait observes the flow's session deadline, kept by one timer;
- sessions are lent to subflows' child workflows and taken back;
- every exit drains the outbox before the workflow closes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

from workflows import naming, payloads
from workflows.envelopes import (
    FlowContext,
    InitiateSessionInput,
    InitiateSessionResult,
    LookupMemberInput,
    LookupMemberResult,
    MemberSummary,
    SessionBatch,
    SessionEnvelope,
    SessionError,
    SessionSnapshot,
    SessionView,
)
from workflows.errors import CordaRuntimeException, SessionTimeoutException
from workflows.identity import MemberX500Name
from workflows.sessions import GENERIC_FAILURE, FlowSession, SessionState

T = TypeVar("T")

MAX_BYTES_IN_FLIGHT = 3 * 1024 * 1024
"""Bound on undelivered signal bytes, which keeps one workflow task's commands under gRPC's 4 MB."""


class SessionManager:
    """A flow's sessions, their outbound delivery, and the waits that observe the session deadline."""

    def __init__(self, *, vnode: MemberX500Name, workflow_id: str, flow_id: str) -> None:
        self.vnode = vnode
        self.workflow_id = workflow_id
        self.flow_id = flow_id
        self._sessions: dict[str, FlowSession] = {}
        self._early: dict[str, list[SessionEnvelope]] = {}
        self._members: dict[str, MemberSummary | None] = {}
        self._flush_task: asyncio.Task[None] | None = None
        self._deliveries: set[asyncio.Task[None]] = set()
        self._bytes_in_flight = 0
        self._watcher: asyncio.Task[None] | None = None
        self._fatal: str | None = None
        self._child_count = 0
        self.step = "starting"

    @property
    def sessions(self) -> list[FlowSession]:
        return list(self._sessions.values())

    # Creating sessions.

    def create_initiator_session(
        self,
        counterparty: MemberX500Name,
        *,
        protocol: str,
        versions: tuple[int, ...],
        require_close: bool,
        timeout_seconds: float,
        context: FlowContext,
    ) -> FlowSession:
        session = FlowSession(
            self,
            session_id=str(workflow.uuid4()),
            counterparty=counterparty,
            role="initiator",
            protocol=protocol,
            protocol_versions=versions,
            require_close=require_close,
            timeout_seconds=timeout_seconds,
        )
        session._context = context
        self._sessions[session.session_id] = session
        return session

    def create_responder_session(
        self,
        *,
        session_id: str,
        initiator: MemberX500Name,
        initiator_workflow_id: str,
        protocol: str,
        protocol_version: int,
        require_close: bool,
        timeout_seconds: float,
        context: FlowContext,
    ) -> FlowSession:
        session = FlowSession(
            self,
            session_id=session_id,
            counterparty=initiator,
            role="responder",
            protocol=protocol,
            protocol_versions=(protocol_version,),
            require_close=require_close,
            timeout_seconds=timeout_seconds,
        )
        session._protocol_version = protocol_version
        session._peer_workflow_id = initiator_workflow_id
        session._peer_home_workflow_id = initiator_workflow_id
        session._context = context
        session._state = SessionState.CONFIRMED
        now = workflow.now()
        session._last_inbound = now
        self._sessions[session_id] = session
        for envelope in self._early.pop(session_id, []):
            session._accept(envelope, now)
        self._ensure_watcher()
        return session

    async def ensure_initiated(self, session: FlowSession) -> None:
        """Queue the init message of a session on its first use, after checking its counterparty."""
        if session._state is not SessionState.CREATED:
            return
        member = await self.lookup_member(session.counterparty)
        if session._state is not SessionState.CREATED:
            return
        if member is None:
            session._fail_locally(
                f"Cannot open session {session.session_id}: {session.counterparty} is not a member of this "
                "network; check the name against GET /api/v5_2/members/{shortHash}"
            )
            raise session._error  # type: ignore[misc]
        session._counterparty_hash = member.short_hash
        session._state = SessionState.INITIATING
        session._last_inbound = workflow.now()
        session._enqueue(
            "init",
            protocol=session._protocol,
            protocol_versions=list(session._protocol_versions),
            require_close=session._require_close,
            timeout_seconds=session._timeout_seconds,
            context_platform=session._context.platform,
            context_user=session._context.user,
        )
        workflow.logger.info(
            "Opening session %s to %s on protocol %s",
            session.session_id,
            session.counterparty,
            session._protocol,
            extra=self._log_context(session.session_id),
        )
        self._ensure_watcher()

    async def lookup_member(self, name: MemberX500Name) -> MemberSummary | None:
        key = str(name)
        if key not in self._members:
            result = await workflow.execute_local_activity(
                naming.LOOKUP_MEMBER_ACTIVITY,
                LookupMemberInput(name=key),
                result_type=LookupMemberResult,
                start_to_close_timeout=timedelta(seconds=10),
            )
            self._members[key] = result.member
        return self._members[key]

    # Inbound messages.

    def on_batch(self, batch: SessionBatch) -> None:
        """Take in the envelopes of one session signal; runs as a synchronous signal handler."""
        now = workflow.now()
        for envelope in batch.envelopes:
            session = self._sessions.get(envelope.session_id)
            if session is None:
                # A responder's first messages arrive with its start, before its session exists.
                self._early.setdefault(envelope.session_id, []).append(envelope)
                continue
            if not session._accept(envelope, now):
                workflow.logger.debug(
                    "Dropped duplicate message %d on session %s",
                    envelope.seq,
                    envelope.session_id,
                    extra=self._log_context(envelope.session_id),
                )
            elif session._lent_to is not None:
                # Sent here before the counterparty learnt of the subflow; kept too, in case it ends first.
                self._forward(session._lent_to, envelope)

    async def receive_all(self, wanted: list[tuple[FlowSession, type[Any]]]) -> list[Any]:
        """Wait until every session has a message or has ended, then take one message from each.

        Raises:
            CordaRuntimeException: One or more sessions failed; raised only
                once every session has delivered or ended.
        """
        for session, _ in wanted:
            session._check_usable("receive from")
        for session, _ in wanted:
            await self.ensure_initiated(session)
            session._announce_route()
        names = ", ".join(str(session.counterparty) for session, _ in wanted)
        await self.wait(
            lambda: all(session._has_next() or session._error is not None for session, _ in wanted),
            step=f"waiting for messages from {names}",
        )
        results: list[Any] = []
        failures: list[CordaRuntimeException] = []
        for session, receive_type in wanted:
            try:
                results.append(session._take(receive_type))
            except CordaRuntimeException as error:
                failures.append(error)
        if len(failures) == 1:
            raise failures[0]
        if failures:
            raise CordaRuntimeException(
                f"Failed to receive from {len(failures)} sessions: " + " | ".join(e.message for e in failures)
            )
        return results

    # Waiting, under the session deadline.

    async def wait(self, ready: Callable[[], bool], *, step: str) -> None:
        """Wait until ``ready()`` holds; raise if the session deadline passes first."""
        self._check_fatal()
        if not ready():
            self.set_step(step)
            await workflow.wait_condition(lambda: ready() or self._fatal is not None)
            self._check_fatal()
            self.set_step("running")

    async def run_activity(self, handle: asyncio.Future[T], *, describe: str) -> T:
        """Wait for an activity under the session deadline; its failure becomes a CordaRuntimeException."""
        try:
            await self.wait(handle.done, step=f"waiting for {describe[0].lower()}{describe[1:]}")
        except BaseException:
            handle.cancel()
            raise
        try:
            return handle.result()
        except ActivityError as error:
            cause = error.cause
            if isinstance(cause, ApplicationError) and cause.type == CordaRuntimeException.__name__:
                raise CordaRuntimeException(f"{describe} failed: {cause.message}") from error
            detail = getattr(cause, "message", None) or str(cause or error)
            raise CordaRuntimeException(
                f"{describe} failed after its retries ({error.retry_state.name if error.retry_state else 'no retry state'}): "
                f"{detail}"
            ) from error

    async def sleep(self, duration: timedelta) -> None:
        """Wait on a durable timer; the session deadline still applies to open sessions."""
        self._check_fatal()
        self.set_step(f"sleeping for {duration}")
        try:
            await workflow.wait_condition(lambda: self._fatal is not None, timeout=duration)
        except asyncio.TimeoutError:
            pass
        self._check_fatal()
        self.set_step("running")

    def set_step(self, step: str) -> None:
        self.step = step
        workflow.set_current_details(step)

    def _check_fatal(self) -> None:
        if self._fatal is not None:
            raise SessionTimeoutException(self._fatal)

    def _deadline(self) -> tuple[datetime, FlowSession] | None:
        deadlines = [(d, s) for s in self._sessions.values() if (d := s._deadline()) is not None]
        return min(deadlines, key=lambda item: item[0], default=None)

    def _ensure_watcher(self) -> None:
        if self._watcher is None:
            self._watcher = asyncio.create_task(self._watch_deadline())

    async def _watch_deadline(self) -> None:
        """Fail the flow once an open session has had no inbound message for its timeout.

        One timer covers every wait: inbound messages only move the deadline
        later, so the timer is restarted when it fires early rather than on
        every message.

        NOTE: Corda 5.2's flow idle limit (``processing.maxIdleTime``) is not
        enforced; a flow with no open session waits without a deadline.
        """
        while True:
            earliest = self._deadline()
            if earliest is None:
                await workflow.wait_condition(lambda: self._deadline() is not None)
                continue
            deadline, session = earliest
            now = workflow.now()
            if now >= deadline:
                self._fatal = (
                    f"Session {session.session_id} with {session.counterparty} timed out: no message received "
                    f"for {session._timeout_seconds:g} s (session timeout) while the session was open; "
                    "check that the counterparty's vnode is running and that both flows agree on who sends next"
                )
                workflow.logger.warning(self._fatal, extra=self._log_context(session.session_id))
                return
            try:
                await workflow.wait_condition(
                    lambda: (current := self._deadline()) is None or current[0] < deadline,
                    timeout=deadline - now,
                    timeout_summary="session timeout",
                )
            except asyncio.TimeoutError:
                pass

    # Outbound delivery.

    def schedule_flush(self) -> None:
        if self._flush_task is None or self._flush_task.done():
            self._flush_task = asyncio.create_task(self._flush())

    async def _flush(self) -> None:
        """Signal every queued envelope to its peer workflow, or start the responders first."""
        while True:
            batches = list(self._take_ready_batches())
            if not batches:
                return
            for target, envelopes, size in batches:
                if self._deliveries and self._bytes_in_flight + size > MAX_BYTES_IN_FLIGHT:
                    await asyncio.gather(*self._deliveries)
                self._start_delivery(target, envelopes, size)

    def _take_ready_batches(self) -> Iterable[tuple[str, list[SessionEnvelope], int]]:
        for session in self._sessions.values():
            if not session._outbox:
                continue
            if session._peer_workflow_id is None:
                if session._init_task is None:
                    envelopes, _ = self._take_batch(session)
                    session._init_task = asyncio.create_task(self._initiate(session, envelopes))
                continue
            while session._outbox:
                envelopes, size = self._take_batch(session)
                yield session._peer_workflow_id, envelopes, size

    @staticmethod
    def _take_batch(session: FlowSession) -> tuple[list[SessionEnvelope], int]:
        limit = payloads.MAX_MESSAGE_BYTES - payloads.BATCH_OVERHEAD_BYTES
        envelopes: list[SessionEnvelope] = []
        total = 0
        while session._outbox and (not envelopes or total + session._outbox[0][1] <= limit):
            envelope, size = session._outbox.pop(0)
            envelopes.append(envelope)
            total += size
        return envelopes, total

    def _start_delivery(self, target: str, envelopes: list[SessionEnvelope], size: int) -> None:
        self._bytes_in_flight += size
        task = asyncio.create_task(self._deliver(target, envelopes, size))
        self._deliveries.add(task)
        task.add_done_callback(self._deliveries.discard)

    async def _deliver(self, target: str, envelopes: list[SessionEnvelope], size: int) -> None:
        try:
            await workflow.get_external_workflow_handle(target).signal(
                naming.SESSION_SIGNAL, SessionBatch(envelopes=envelopes)
            )
        except Exception as error:  # noqa: BLE001 - any failure errors the sessions it carried
            undelivered = self._resend_to_home(target, envelopes) if _is_not_found(error) else envelopes
            for envelope in undelivered:
                session = self._sessions.get(envelope.session_id)
                if session is None or envelope.kind == "error":
                    continue
                workflow.logger.warning(
                    "Could not deliver message %d on session %s to %s: %s",
                    envelope.seq,
                    envelope.session_id,
                    target,
                    error,
                    extra=self._log_context(envelope.session_id),
                )
                session._fail_locally(
                    f"Could not deliver a message on session {session.session_id} to {session.counterparty}: "
                    "its flow has already ended"
                )
        finally:
            self._bytes_in_flight -= size

    def _resend_to_home(self, target: str, envelopes: list[SessionEnvelope]) -> list[SessionEnvelope]:
        """Resend envelopes that bounced off a counterparty's ended subflow to the flow that lent it the session.

        Returns the envelopes that have nowhere else to go.
        """
        undelivered: list[SessionEnvelope] = []
        for envelope in envelopes:
            session = self._sessions.get(envelope.session_id)
            home = session._peer_home_workflow_id if session is not None else None
            if session is None or home is None or home == target:
                undelivered.append(envelope)
                continue
            if session._peer_workflow_id == target:
                session._peer_workflow_id = home
            self._start_delivery(home, [envelope], len(envelope.model_dump_json().encode()))
        return undelivered

    def _forward(self, borrower: str, envelope: SessionEnvelope) -> None:
        task = asyncio.create_task(self._signal_quietly(borrower, envelope))
        self._deliveries.add(task)
        task.add_done_callback(self._deliveries.discard)

    async def _signal_quietly(self, target: str, envelope: SessionEnvelope) -> None:
        try:
            await workflow.get_external_workflow_handle(target).signal(
                naming.SESSION_SIGNAL, SessionBatch(envelopes=[envelope])
            )
        except Exception:  # noqa: BLE001 - the envelope stays in this workflow's inbox for the hand-back
            workflow.logger.debug(
                "Subflow %s ended before message %d on session %s reached it",
                target,
                envelope.seq,
                envelope.session_id,
                extra=self._log_context(envelope.session_id),
            )

    async def _initiate(self, session: FlowSession, envelopes: list[SessionEnvelope]) -> None:
        """Run the session-initiation activity on the counterparty's task queue."""
        assert session._counterparty_hash is not None
        try:
            result = await workflow.execute_activity(
                naming.INITIATE_SESSION_ACTIVITY,
                InitiateSessionInput(
                    counterparty=str(session.counterparty),
                    initiator_flow_id=self.flow_id,
                    batch=SessionBatch(envelopes=envelopes),
                ),
                result_type=InitiateSessionResult,
                task_queue=naming.task_queue(session._counterparty_hash),
                schedule_to_close_timeout=timedelta(seconds=session._timeout_seconds),
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=RetryPolicy(maximum_interval=timedelta(seconds=10)),
                summary=f"start responder for session {session.session_id} on {session.counterparty}",
            )
        except ActivityError as error:
            cause = error.cause.message if error.cause is not None and hasattr(error.cause, "message") else str(error)
            session._fail_locally(
                f"Could not start the responder flow for session {session.session_id} on "
                f"{session.counterparty}: {cause}"
            )
            return
        if result.rejection is not None:
            workflow.logger.warning(result.rejection, extra=self._log_context(session.session_id))
            session._fail_locally(result.rejection)
            return
        session._peer_home_workflow_id = result.responder_workflow_id
        if session._peer_workflow_id is None:
            session._peer_workflow_id = result.responder_workflow_id
        session._protocol_version = result.protocol_version
        if session._state is SessionState.INITIATING:
            session._state = SessionState.CONFIRMED
        self.schedule_flush()

    # Leaving the flow.

    async def close_all(self) -> None:
        """Close every session this flow opened and still holds, as Corda does when a flow returns.

        Sessions lent to this flow by its parent go back to the parent open.
        """
        for session in list(self._sessions.values()):
            if session._owned and session._state not in (SessionState.CLOSED, SessionState.ERROR):
                await session.close()

    def error_all(self, error: BaseException, *, include_borrowed: bool = False) -> None:
        """Send an error to every open session this flow owns (and borrowed ones when asked).

        The error carries a CordaRuntimeException's message, or a generic one
        for any other exception so internal details stay on this node.
        """
        if isinstance(error, CordaRuntimeException):
            session_error = SessionError(error_type=type(error).__name__, message=error.message)
        else:
            session_error = SessionError(error_type=GENERIC_FAILURE, message="")
        for session in self._sessions.values():
            if session._lent_to is not None or not (session._owned or include_borrowed):
                continue
            if session._is_open():
                session._send_error(session_error)
                session._fail_locally(f"The flow failed: {error}")

    # Lending sessions to subflows.

    async def lend(self, sessions: list[FlowSession], borrower: str) -> list[SessionSnapshot]:
        """Hand sessions to a subflow's workflow: wait for any still initiating, then snapshot them."""
        for session in sessions:
            if session._lent_to is not None:
                raise CordaRuntimeException(
                    f"Session {session.session_id} is already lent to subflow {session._lent_to}; "
                    "pass a session to one subflow at a time"
                )
            if session._state is SessionState.INITIATING:
                # NOTE: waiting here sends the subflow's first message on its own, about one
                # hop later than if the queued init could be handed over too.
                await self.wait(
                    lambda session=session: session._state is not SessionState.INITIATING,  # type: ignore[misc]
                    step=f"waiting for {session.counterparty} to start its responder",
                )
        snapshots = []
        for session in sessions:
            snapshots.append(session._snapshot())
            session._lent_to = borrower
        return snapshots

    def take_back(self, snapshots: list[SessionSnapshot]) -> None:
        for snapshot in snapshots:
            session = self._sessions.get(snapshot.session_id)
            if session is not None:
                session._restore(snapshot)

    def borrow(self, snapshots: list[SessionSnapshot]) -> dict[str, FlowSession]:
        """Adopt the sessions a parent lent this subflow's workflow."""
        now = workflow.now()
        borrowed = {}
        for snapshot in snapshots:
            session = FlowSession._from_snapshot(self, snapshot)
            self._sessions[session.session_id] = session
            for envelope in self._early.pop(session.session_id, []):
                session._accept(envelope, now)
            borrowed[session.session_id] = session
        if borrowed:
            self._ensure_watcher()
        return borrowed

    def return_borrowed(self) -> list[SessionSnapshot]:
        return [session._snapshot() for session in self._sessions.values() if not session._owned]

    def fail_lent(self, sessions: list[FlowSession], reason: str) -> None:
        """Error sessions a subflow ended without handing back."""
        for session in sessions:
            session._lent_to = None
            if session._is_open():
                session._send_error(SessionError(error_type=GENERIC_FAILURE, message=""))
                session._fail_locally(reason)

    def next_child_index(self) -> int:
        self._child_count += 1
        return self._child_count

    async def drain(self) -> None:
        """Wait until every queued message was signalled and every responder start finished."""
        while True:
            if any(session._outbox and session._peer_workflow_id is not None for session in self._sessions.values()):
                self.schedule_flush()
            pending = [
                task
                for task in (
                    self._flush_task,
                    *(session._init_task for session in self._sessions.values()),
                    *self._deliveries,
                )
                if task is not None and not task.done()
            ]
            if not pending:
                return
            await asyncio.gather(*pending, return_exceptions=True)

    def views(self) -> list[SessionView]:
        return [session._view() for session in self._sessions.values()]

    def _log_context(self, session_id: str | None = None) -> dict[str, Any]:
        return {"flow_id": self.flow_id, "vnode": str(self.vnode), "session_id": session_id or "-"}


def _is_not_found(error: BaseException) -> bool:
    """Return whether a signal failed because its target workflow has ended or never existed."""
    return isinstance(error, ApplicationError) and error.type == "ExternalWorkflowExecutionNotFound"
