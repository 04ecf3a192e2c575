"""Session initiation: the one activity on the messaging path, once per session.

It runs on the counterparty vnode's task queue, so a session opened to a vnode
whose worker is down waits there until the worker returns, as a P2P inbox
would. It negotiates the protocol version against that vnode's flows and
signal-with-starts the chosen responder's workflow, delivering the init
message and everything sent before it in the start signal.
"""

from __future__ import annotations

import logging
import uuid

from temporalio import activity
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy

from workflows import naming
from workflows.envelopes import (
    FlowContext,
    FlowKind,
    InitiateSessionInput,
    InitiateSessionResult,
    ResponderFlowInput,
    SessionEnvelope,
)
from workflows.host import qualified_name
from workflows.identity import MemberX500Name
from workflows.membership import StaticNetwork
from workflows.registry import FlowRegistry

logger = logging.getLogger(__name__)


class SessionActivities:
    """Session initiation for one vnode, bound to its flows."""

    def __init__(self, network: StaticNetwork, vnode: MemberX500Name, registry: FlowRegistry) -> None:
        self._network = network
        self._vnode = vnode
        self._short_hash = network.short_hash(vnode)
        self._registry = registry

    @activity.defn(name=naming.INITIATE_SESSION_ACTIVITY)
    async def initiate_session(self, request: InitiateSessionInput) -> InitiateSessionResult:
        """Start the responder for a session's init message, or return why none can run.

        Idempotent: a retry finds the responder already started (conflict
        policy USE_EXISTING) and signals the same envelopes again, which its
        inbox drops as duplicates.
        """
        init = request.batch.envelopes[0]
        context = {"flow_id": request.initiator_flow_id, "vnode": str(self._vnode), "session_id": init.session_id}
        rejection = self._check_init(init)
        if rejection is not None:
            logger.warning(rejection, extra=context)
            return InitiateSessionResult(rejection=rejection)
        assert init.protocol is not None and init.protocol_versions is not None
        chosen = self._registry.negotiate(init.protocol, init.protocol_versions)
        if chosen is None:
            rejection = self._no_responder_message(init)
            logger.warning(rejection, extra=context)
            return InitiateSessionResult(rejection=rejection)
        responder_class, version = chosen
        workflow_id = naming.responder_workflow_id(self._short_hash, init.session_id)
        flow_name = qualified_name(responder_class)
        flow_input = ResponderFlowInput(
            flow_id=str(uuid.uuid4()),
            session_id=init.session_id,
            vnode=str(self._vnode),
            initiator=init.sender,
            initiator_workflow_id=init.reply_to,
            protocol=init.protocol,
            protocol_version=version,
            require_close=init.require_close if init.require_close is not None else True,
            session_timeout_seconds=init.timeout_seconds or self._network.session_timeout_seconds,
            context=FlowContext(platform=init.context_platform or {}, user=init.context_user or {}),
        )
        try:
            await activity.client().start_workflow(
                flow_name,
                flow_input,
                id=workflow_id,
                task_queue=naming.task_queue(self._short_hash),
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                start_signal=naming.SESSION_SIGNAL,
                start_signal_args=[request.batch],
                search_attributes=naming.flow_search_attributes(
                    short_hash=self._short_hash,
                    flow_name=flow_name,
                    kind=FlowKind.RESPONDER.value,
                    initiator=init.sender,
                ),
                memo={
                    naming.MEMO_FLOW_ID: flow_input.flow_id,
                    naming.MEMO_CLIENT_REQUEST_ID: f"{init.session_id}{naming.RESPONDER_SUFFIX}",
                },
                static_summary=f"{responder_class.__name__} answering {init.sender}",
            )
        except WorkflowAlreadyStartedError:
            # The responder already ran to its end: this is a retry of a start that succeeded.
            logger.info("Responder %s already ended; init not redelivered", workflow_id, extra=context)
        logger.info(
            "Started responder %s for protocol %s version %d", flow_name, init.protocol, version, extra=context
        )
        return InitiateSessionResult(responder_workflow_id=workflow_id, protocol_version=version)

    def _check_init(self, init: SessionEnvelope) -> str | None:
        if init.kind != "init" or not init.protocol or not init.protocol_versions:
            return (
                f"Session {init.session_id} to {self._vnode} did not start with an init message; "
                "this is a framework bug, please report it"
            )
        return None

    def _no_responder_message(self, init: SessionEnvelope) -> str:
        offered = ", ".join(str(v) for v in sorted(init.protocol_versions or []))
        available = sorted(v for (p, v) in self._registry.responders if p == init.protocol)
        if not available:
            return (
                f"No responder is registered for protocol {init.protocol!r} on {self._vnode} "
                f"(session {init.session_id}); install a CorDapp with an @initiated_by({init.protocol!r}) "
                "flow on that vnode"
            )
        return (
            f"No common version of protocol {init.protocol!r} with {self._vnode} (session {init.session_id}): "
            f"the initiator supports {offered}, the responder {', '.join(map(str, available))}; "
            "upgrade one side's CorDapp"
        )
