"""Starting flows and reading their status from Temporal, for the REST API and the test network.

There is no status store besides Temporal: a flow's status is its workflow's
status, refined by the ``CordaFlowStatus`` search attribute only while it
runs (START_REQUESTED until its first workflow task). End states, results and
errors come from the workflow's close, which a terminated workflow records
too.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timezone
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel
from temporalio.client import (
    Client,
    WorkflowExecution,
    WorkflowExecutionDescription,
    WorkflowExecutionStatus,
    WorkflowFailureError,
    WorkflowHandle,
)
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, CancelledError, TerminatedError, TimeoutError
from temporalio.service import RPCError, RPCStatusCode

from workflows import naming
from workflows.envelopes import ClientFlowInput, FlowKind
from workflows.identity import MemberX500Name
from workflows.membership import StaticNetwork

FLOW_STATUSES = ("START_REQUESTED", "RUNNING", "COMPLETED", "FAILED", "KILLED")


class CamelModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, serialize_by_alias=True)


class FlowError(CamelModel):
    type: str = "FLOW_FAILED"
    message: str


class FlowStatus(CamelModel):
    """A flow's status in Corda 5's ``FlowStatusResponse`` shape, plus its Temporal Web UI link."""

    holding_identity_short_hash: str
    client_request_id: str | None
    flow_id: str | None
    flow_status: str
    flow_result: str | None = None
    flow_error: FlowError | None = None
    timestamp: datetime
    workflow_id: str
    workflow_url: str


def workflow_url(ui_url: str, namespace: str, workflow_id: str) -> str:
    """Return the Temporal Web UI page of a workflow; the ``/`` in Accord's IDs is percent-encoded."""
    return f"{ui_url.rstrip('/')}/namespaces/{quote(namespace, safe='')}/workflows/{quote(workflow_id, safe='')}"


async def start_flow(
    client: Client,
    network: StaticNetwork,
    vnode: MemberX500Name,
    *,
    flow_class_name: str,
    client_request_id: str,
    request_body: str,
    summary: str | None = None,
    flow_id: str | None = None,
) -> WorkflowHandle:
    """Start a client flow as the workflow ``<shortHash>/<clientRequestId>``.

    Conflict policy FAIL with REJECT_DUPLICATE: a second start of the same ID,
    running or closed, raises ``WorkflowAlreadyStartedError``. ``flow_id`` is
    a new UUID unless given.
    """
    short_hash = network.short_hash(vnode)
    flow_id = flow_id or str(uuid.uuid4())
    return await client.start_workflow(
        flow_class_name,
        ClientFlowInput(
            flow_id=flow_id,
            client_request_id=client_request_id,
            vnode=str(vnode),
            request_body=request_body,
            session_timeout_seconds=network.session_timeout_seconds,
        ),
        id=naming.client_flow_workflow_id(short_hash, client_request_id),
        task_queue=naming.task_queue(short_hash),
        id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        search_attributes=naming.flow_search_attributes(
            short_hash=short_hash, flow_name=flow_class_name, kind=FlowKind.CLIENT.value, initiator=str(vnode)
        ),
        memo={naming.MEMO_FLOW_ID: flow_id, naming.MEMO_CLIENT_REQUEST_ID: client_request_id},
        static_summary=summary or f"{flow_class_name.rsplit('.', 1)[-1]} on {vnode.common_name or vnode}",
    )


async def read_flow_status(client: Client, workflow_id: str, *, ui_url: str) -> FlowStatus | None:
    """Return the status of the flow with this workflow ID, or None when there is no such flow."""
    handle = client.get_workflow_handle(workflow_id)
    try:
        description = await handle.describe()
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            return None
        raise
    return await flow_status_from(client, description, ui_url=ui_url)


async def flow_status_from(client: Client, description: WorkflowExecutionDescription, *, ui_url: str) -> FlowStatus:
    """Build a flow status from a workflow's description, fetching its outcome when it has closed."""
    short_hash, client_request_id = naming.split_workflow_id(description.id)
    memo = await description.memo()
    status = FlowStatus(
        holding_identity_short_hash=short_hash,
        client_request_id=memo.get(naming.MEMO_CLIENT_REQUEST_ID, client_request_id),
        flow_id=memo.get(naming.MEMO_FLOW_ID),
        flow_status="RUNNING",
        timestamp=description.close_time or description.start_time or datetime.now(timezone.utc),
        workflow_id=description.id,
        workflow_url=workflow_url(ui_url, client.namespace, description.id),
    )
    if description.status in (WorkflowExecutionStatus.RUNNING, WorkflowExecutionStatus.CONTINUED_AS_NEW, None):
        marked = description.typed_search_attributes.get(naming.CORDA_FLOW_STATUS)
        if marked == "START_REQUESTED":
            status.flow_status = "START_REQUESTED"
            status.flow_id = None
        return status
    handle = client.get_workflow_handle(description.id, run_id=description.run_id)
    try:
        status.flow_result = await handle.result(follow_runs=False)
        status.flow_status = "COMPLETED"
    except WorkflowFailureError as failure:
        status.flow_status, message = _failure_status(failure)
        if status.flow_status == "FAILED":
            status.flow_error = FlowError(message=message)
    return status


def _failure_status(failure: WorkflowFailureError) -> tuple[str, str]:
    cause = failure.cause
    if isinstance(cause, CancelledError):
        return "KILLED", "Flow killed"
    if isinstance(cause, TerminatedError):
        if cause.message == naming.KILL_REASON:
            return "KILLED", cause.message
        return "FAILED", f"Flow terminated: {cause.message or 'no reason given'}"
    if isinstance(cause, TimeoutError):
        return "FAILED", "Flow timed out: its workflow exceeded its execution timeout"
    if isinstance(cause, ApplicationError):
        return "FAILED", cause.message
    return "FAILED", str(cause or failure)


# ---------------------------------------------------------------------------
# Listing the flows of a vnode, for ``GET /flow/{holdingIdentityShortHash}``.
#
# Candidates come from a visibility query on the Corda search attributes and
# the execution status. Each is then read with flow_status_from, like a single
# flow, and kept only if its status is the one asked for, because visibility
# cannot tell a flow terminated with KILL_REASON (KILLED) from one terminated
# otherwise (FAILED). Visibility lags the workflow by about a second.
# ---------------------------------------------------------------------------

_LIST_CANDIDATES = {
    "START_REQUESTED": "ExecutionStatus = 'Running' AND CordaFlowStatus = 'START_REQUESTED'",
    "RUNNING": "ExecutionStatus = 'Running' AND CordaFlowStatus != 'START_REQUESTED'",
    "COMPLETED": "ExecutionStatus = 'Completed'",
    "FAILED": "ExecutionStatus IN ('Failed', 'TimedOut', 'Terminated')",
    "KILLED": "ExecutionStatus IN ('Canceled', 'Terminated')",
}

_LISTED_KINDS = (FlowKind.CLIENT.value, FlowKind.RESPONDER.value)

_STATUS_READS_IN_PARALLEL = 16


def flow_list_query(short_hash: str, flow_status: str | None = None) -> str:
    """Return the visibility query for the client and responder flows of a vnode, optionally by status.

    Subflows are left out. Without a status, runs that continued as new are
    left out too, so each flow appears once.

    Raises:
        ValueError: ``flow_status`` is not one of :data:`FLOW_STATUSES`.
    """
    kinds = ", ".join(f"'{kind}'" for kind in _LISTED_KINDS)
    query = f"{naming.CORDA_VNODE.name} = '{short_hash.upper()}' AND {naming.CORDA_FLOW_KIND.name} IN ({kinds})"
    if flow_status is None:
        return f"{query} AND ExecutionStatus != 'ContinuedAsNew'"
    if flow_status not in _LIST_CANDIDATES:
        raise ValueError(f"Unknown flow status {flow_status!r}; use one of {', '.join(FLOW_STATUSES)}")
    return f"{query} AND {_LIST_CANDIDATES[flow_status]}"


async def list_flow_statuses(
    client: Client, short_hash: str, *, flow_status: str | None = None, ui_url: str
) -> list[FlowStatus]:
    """Return the statuses of a vnode's client and responder flows, newest first.

    Reading a closed flow's result or error costs one history fetch, so a
    vnode with many closed flows takes a while to list.

    Raises:
        ValueError: ``flow_status`` is not one of :data:`FLOW_STATUSES`.
    """
    query = flow_list_query(short_hash, flow_status)
    executions = [execution async for execution in client.list_workflows(query)]
    limit = asyncio.Semaphore(_STATUS_READS_IN_PARALLEL)

    async def read(execution: WorkflowExecution) -> FlowStatus:
        async with limit:
            # flow_status_from reads only the fields a description shares with a listed execution.
            return await flow_status_from(client, execution, ui_url=ui_url)  # type: ignore[arg-type]

    statuses = await asyncio.gather(*(read(execution) for execution in executions))
    if flow_status is None:
        return list(statuses)
    return [status for status in statuses if status.flow_status == flow_status]
