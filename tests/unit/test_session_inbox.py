"""The session inbox: order restored by sequence number, duplicates dropped, init consumed."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from workflows.envelopes import SessionEnvelope
from workflows.errors import CordaSessionException
from workflows.identity import MemberX500Name
from workflows.sessions import FlowSession, SessionState

BOB = MemberX500Name.parse("CN=Bob, OU=Test Dept, O=R3, L=London, C=GB")
NOW = datetime(2026, 12, 4, tzinfo=timezone.utc)


class RecordingManager:
    """Stands in for the SessionManager: records flush requests instead of signalling."""

    def __init__(self) -> None:
        self.vnode = MemberX500Name.parse("CN=Alice, OU=Test Dept, O=R3, L=London, C=GB")
        self.workflow_id = "ALICE/flow"
        self.flushes = 0

    def schedule_flush(self) -> None:
        self.flushes += 1


def responder_session(manager: RecordingManager) -> FlowSession:
    session = FlowSession(
        manager,  # type: ignore[arg-type]
        session_id="s1",
        counterparty=BOB,
        role="responder",
        protocol="test",
        protocol_versions=(1,),
        require_close=True,
        timeout_seconds=60,
    )
    session._state = SessionState.CONFIRMED
    return session


def envelope(seq: int, kind: str = "data", payload: str | None = None) -> SessionEnvelope:
    if payload is None and kind == "data":
        payload = f'"m{seq}"'
    return SessionEnvelope(
        session_id="s1",
        seq=seq,
        kind=kind,  # type: ignore[arg-type]
        sender=str(BOB),
        reply_to="BOB/flow",
        payload_type="str" if kind == "data" else None,
        payload=payload,
    )


def test_out_of_order_messages_are_read_in_sequence() -> None:
    session = responder_session(RecordingManager())
    for seq in (3, 1, 4, 2):
        session._accept(envelope(seq), NOW)

    assert [session._take(str) for _ in range(4)] == ["m1", "m2", "m3", "m4"]


def test_duplicates_are_dropped_before_and_after_reading() -> None:
    session = responder_session(RecordingManager())

    assert session._accept(envelope(1), NOW)
    assert not session._accept(envelope(1), NOW)
    assert session._take(str) == "m1"
    assert not session._accept(envelope(1), NOW)
    assert session._accept(envelope(2), NOW)
    assert session._has_next()


def test_gap_holds_later_messages_back() -> None:
    session = responder_session(RecordingManager())
    session._accept(envelope(2), NOW)

    assert not session._has_next()
    session._accept(envelope(1), NOW)
    assert session._has_next()


def test_init_message_is_consumed_on_arrival() -> None:
    session = responder_session(RecordingManager())
    session._accept(envelope(2), NOW)
    session._accept(envelope(1, kind="init"), NOW)

    assert session._take(str) == "m2"


def test_inbound_message_moves_last_inbound_time() -> None:
    session = responder_session(RecordingManager())
    session._accept(envelope(1), NOW)

    assert session._last_inbound == NOW


def test_data_after_responder_closed_errors_session() -> None:
    manager = RecordingManager()
    session = responder_session(manager)
    session._state = SessionState.CLOSED
    session._accept(envelope(1), NOW)

    assert session.state is SessionState.ERROR
    assert [queued.kind for queued, _ in session._outbox] == ["error"]
    assert "received data after the responder closed the session" in str(session._error)


def test_responder_close_with_unread_data_sends_error() -> None:
    manager = RecordingManager()
    session = responder_session(manager)
    session._accept(envelope(1), NOW)

    with pytest.raises(CordaSessionException, match="Failed to close session s1"):
        session._close_as_responder()
    assert session.state is SessionState.ERROR
    assert [queued.kind for queued, _ in session._outbox] == ["error"]
    assert manager.flushes == 1


def test_responder_close_sends_close_when_required() -> None:
    manager = RecordingManager()
    session = responder_session(manager)
    session._close_as_responder()

    assert session.state is SessionState.CLOSED
    assert [queued.kind for queued, _ in session._outbox] == ["close"]
