"""A test network for CorDapp developers: chosen vnodes running in-process on a Temporal test server.

Corda offered MockNetwork and the CSDE simulator; this is Accord's
equivalent. It runs the workers of the chosen vnodes of a static network
against a ``WorkflowEnvironment`` (time-skipping or dev server), starts flows
as the REST API does, and reads their statuses the same way::

    async with await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(temporal_test_server()),
        data_converter=pydantic_data_converter,
    ) as env:
        async with TestNetwork(env, load_network("network.json")) as network:
            status = await network.run_flow("Alice", "cordapps.quotes.RequestQuotesFlow", {"item": "tea"})
            assert status.flow_status == "COMPLETED"
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from pydantic import BaseModel
from temporalio.client import WorkflowFailureError, WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from app.flows import FlowStatus, read_flow_status, start_flow
from app.worker import create_vnode_worker, ensure_search_attributes
from workflows import naming
from workflows.envelopes import FlowStatusView
from workflows.host import qualified_name
from workflows.identity import MemberX500Name
from workflows.membership import StaticNetwork


class TestNetwork:
    """Runs the workers of a network's vnodes against a test environment while in use.

    Args:
        env: A started Temporal test environment with the pydantic data converter.
        network: The static network; its members' CorDapps define the flows.
        vnodes: Names (or common names) of the vnodes to run; all members by default.
        max_cached_workflows: Worker cache size; 0 replays every workflow task.
    """

    __test__ = False  # not a pytest test class

    def __init__(
        self,
        env: WorkflowEnvironment,
        network: StaticNetwork,
        vnodes: Sequence[str | MemberX500Name] | None = None,
        *,
        max_cached_workflows: int = 1000,
        ui_url: str = "http://127.0.0.1:8233",
    ) -> None:
        self.env = env
        self.network = network
        chosen = vnodes if vnodes is not None else [member.name for member in network.members]
        self.vnodes = [self.vnode(name) for name in chosen]
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

    async def responder_ids(self, workflow_id: str) -> list[str]:
        """Return the workflow IDs of the responders of the sessions a flow opened, in the order it created them."""
        view = await self.sessions(workflow_id)
        return [
            naming.responder_workflow_id(self.short_hash(session.counterparty), session.session_id)
            for session in view.sessions
            if session.role == "initiator" and session.state != "CREATED"
        ]


def _request_text(request_body: Any) -> str:
    if request_body is None:
        return "{}"
    if isinstance(request_body, str):
        return request_body
    if isinstance(request_body, BaseModel):
        return request_body.model_dump_json()
    return json.dumps(request_body)
