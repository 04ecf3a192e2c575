"""Models that cross Temporal's boundary: workflow inputs, session envelopes, activity I/O.

Every workflow, signal and activity takes one pydantic model and returns one,
so fields can be added later without breaking the histories of running flows.

Session message kinds, and the session states they move to:

- ``init``: first message from the initiator; carries the protocol, the
  versions it supports and the session settings. It rides with the data sent
  before the responder existed.
- ``data``: one payload from ``send``.
- ``close``: the responder ended the session (Corda 5.1+ close: only the
  responder side sends it, and only when ``require_close`` holds).
  The receiver moves the session to CLOSED once every message before it was read.
- ``error``: the sender's flow failed or rejected the session; the receiver
  moves the session to ERROR and its next blocking call raises.
- ``route``: sent by a subflow that has a session lent by its parent and
  receives before it sends, so the counterparty sends to it directly. Every
  envelope's ``reply_to`` does the same; this one carries nothing else.

Sequence numbers count every kind, one space per direction, from 1.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import Enum
from typing import Literal

from pydantic import BaseModel, Field


class FlowKind(str, Enum):
    """The way a flow's workflow was started: the value of the ``CordaFlowKind`` search attribute."""

    CLIENT = "client"
    RESPONDER = "responder"
    SUBFLOW = "subflow"


class SessionError(BaseModel):
    """The reason a session ended in error, as sent to the counterparty."""

    error_type: str
    message: str


class SessionEnvelope(BaseModel):
    """One session message, as signalled between two flows' workflows."""

    session_id: str
    seq: int = Field(ge=1)
    kind: Literal["init", "data", "close", "error", "route"]
    sender: str
    """Canonical X.500 name of the sending vnode."""
    reply_to: str
    """Workflow ID the receiver sends its messages on this session to."""
    payload_type: str | None = None
    payload: str | None = None
    """The payload as JSON text, serialised by the session layer."""
    error: SessionError | None = None
    protocol: str | None = None
    protocol_versions: list[int] | None = None
    require_close: bool | None = None
    timeout_seconds: float | None = None
    context_platform: dict[str, str] | None = None
    """The initiator's platform context properties at ``initiate_flow`` (init only)."""
    context_user: dict[str, str] | None = None
    """The initiator's user context properties at ``initiate_flow`` (init only)."""


class SessionBatch(BaseModel):
    """The argument of the session signal: envelopes of one or more sessions, in send order."""

    envelopes: list[SessionEnvelope]


class SessionSnapshot(BaseModel):
    """One session's whole state, handed to a subflow's workflow and back with its result."""

    session_id: str
    counterparty: str
    role: Literal["initiator", "responder"]
    protocol: str
    protocol_versions: list[int]
    protocol_version: int | None
    require_close: bool
    timeout_seconds: float
    state: str
    error: SessionError | None = None
    counterparty_hash: str | None
    peer_workflow_id: str | None
    peer_home_workflow_id: str | None
    route_seq: int
    next_send_seq: int
    next_receive_seq: int
    inbox: list[SessionEnvelope]
    outbox: list[SessionEnvelope]
    last_inbound: datetime | None
    context_platform: dict[str, str]
    context_user: dict[str, str]


class FlowContext(BaseModel):
    """A flow's context properties: platform ones set by Accord, user ones set by flows."""

    platform: dict[str, str] = {}
    user: dict[str, str] = {}


class SubFlowInput(BaseModel):
    """Input of a subflow's child workflow: the subflow's constructor arguments and the sessions lent to it."""

    flow_id: str
    vnode: str
    arguments: str
    """The constructor's bound arguments as JSON text; lent sessions appear as markers."""
    sessions: list[SessionSnapshot]
    context: FlowContext
    session_timeout_seconds: float


class SubFlowResult(BaseModel):
    """A subflow's hand-back: its result and the lent sessions' state."""

    result_type: str
    result: str
    sessions: list[SessionSnapshot]


class SubFlowFailure(BaseModel):
    """Details of a failed subflow's ``ApplicationError``: the lent sessions' state, to hand back."""

    error_class: str
    message: str
    sessions: list[SessionSnapshot]


class ExternalOperationInput(BaseModel):
    """Input of the activity that runs a CorDapp's external operation."""

    operation: str
    argument_type: str
    argument: str
    idempotency_key: str
    flow_id: str
    vnode: str


class ExternalOperationResult(BaseModel):
    result_type: str
    result: str


class ClientFlowInput(BaseModel):
    """Input of a client-started flow's workflow, written by the REST API."""

    flow_id: str
    client_request_id: str
    vnode: str
    """Canonical X.500 name of the vnode running the flow."""
    request_body: str
    """The REST ``requestBody`` as raw JSON text."""
    session_timeout_seconds: float = 1800.0
    context: FlowContext = FlowContext()


class ResponderFlowInput(BaseModel):
    """Input of a responder flow's workflow, written by the session-initiation activity."""

    flow_id: str
    session_id: str
    vnode: str
    initiator: str
    initiator_workflow_id: str
    protocol: str
    protocol_version: int
    require_close: bool = True
    session_timeout_seconds: float = 1800.0
    context: FlowContext = FlowContext()


class InitiateSessionInput(BaseModel):
    """Input of the activity that starts a session's responder on the counterparty's vnode."""

    counterparty: str
    initiator_flow_id: str
    batch: SessionBatch
    """The init envelope first, then any messages sent before the responder existed."""


class InitiateSessionResult(BaseModel):
    """Outcome of session initiation: the responder's workflow, or why none was started."""

    responder_workflow_id: str | None = None
    protocol_version: int | None = None
    rejection: str | None = None


class LookupMemberInput(BaseModel):
    name: str


class MemberSummary(BaseModel):
    """A network member as a flow learns of it: its name and its vnode's short hash."""

    name: str
    short_hash: str


class LookupMemberResult(BaseModel):
    member: MemberSummary | None = None


class SessionView(BaseModel):
    """One session as the status query shows it."""

    session_id: str
    counterparty: str
    state: str
    role: Literal["initiator", "responder"]


class FlowStatusView(BaseModel):
    """Result of the status query: where a running flow is and which sessions it holds."""

    flow_id: str
    flow_class_name: str
    vnode: str
    step: str
    sessions: list[SessionView]


def seconds(value: timedelta | float | None) -> float | None:
    """Return a duration in seconds, accepting a timedelta or a number of seconds."""
    if value is None:
        return None
    if isinstance(value, timedelta):
        return value.total_seconds()
    return float(value)
