"""Flow routes: start a flow, read one flow's status or result, list a vnode's flows.

Each flow is a Temporal workflow, and its status is read from Temporal on
every request: there is no second status store.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timezone
from typing import Annotated

from fastapi import APIRouter, Query, Response
from temporalio.client import Client
from temporalio.exceptions import WorkflowAlreadyStartedError

from app import flows
from app.api.deps import ClientRequestIdDep, NetworkDep, SettingsDep, TemporalClientDep, VNode, VNodeDep
from app.api.errors import ApiError, error_responses
from app.api.models import FlowResultResponse, FlowStatusResponses, StartFlowParameters, shorten
from app.flows import FLOW_STATUSES, FlowStatus
from app.settings import Settings
from workflows import naming
from workflows.host import qualified_name

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/flow", tags=["Flows"])

_UNFINISHED = ("START_REQUESTED", "RUNNING")


@router.post(
    "/{holdingIdentityShortHash}",
    status_code=202,
    response_model=FlowStatus,
    responses=error_responses(400, 404, 409, 503),
)
async def start_flow(
    vnode: VNodeDep,
    parameters: StartFlowParameters,
    network: NetworkDep,
    settings: SettingsDep,
    client: TemporalClientDep,
) -> FlowStatus:
    """Start a flow on a virtual node.

    Returns 202 with status START_REQUESTED as soon as the flow's workflow
    exists; poll `GET /flow/{holdingIdentityShortHash}/{clientRequestId}` for
    its progress. The `clientRequestId` makes the start idempotent: a second
    start with the same ID on this virtual node returns 409, whether the first
    flow still runs or has ended, and only one flow ever runs.

    `requestBody` is the flow's input, as a JSON value or as a string that
    contains JSON.
    """
    _check_startable(vnode, parameters.flow_class_name)
    flow_id = str(uuid.uuid4())
    context = {"flow_id": flow_id, "vnode": str(vnode.name), "session_id": "-"}
    try:
        handle = await flows.start_flow(
            client,
            network,
            vnode.name,
            flow_class_name=parameters.flow_class_name,
            client_request_id=parameters.client_request_id,
            request_body=parameters.request_body_text,
            flow_id=flow_id,
        )
    except WorkflowAlreadyStartedError:
        raise ApiError(
            409,
            f"A flow with clientRequestId {parameters.client_request_id!r} was already started on virtual node "
            f"{vnode.short_hash}; read it at GET /api/v5_2/flow/{vnode.short_hash}/{parameters.client_request_id}, "
            "or start a new flow with another clientRequestId",
            {"holdingIdentityShortHash": vnode.short_hash, "clientRequestId": parameters.client_request_id},
        ) from None
    logger.info("Started flow %s as workflow %s", parameters.flow_class_name, handle.id, extra=context)
    return FlowStatus(
        holding_identity_short_hash=vnode.short_hash,
        client_request_id=parameters.client_request_id,
        flow_id=None,
        flow_status="START_REQUESTED",
        timestamp=datetime.now(timezone.utc),
        workflow_id=handle.id,
        workflow_url=flows.workflow_url(settings.ui_url, client.namespace, handle.id),
    )


@router.get(
    "/{holdingIdentityShortHash}",
    response_model=FlowStatusResponses,
    responses=error_responses(400, 404, 503),
)
async def list_flows(
    vnode: VNodeDep,
    settings: SettingsDep,
    client: TemporalClientDep,
    flow_status: Annotated[
        str | None,
        Query(
            alias="status",
            description="Only flows in this status: " + ", ".join(FLOW_STATUSES),
            json_schema_extra={"enum": list(FLOW_STATUSES)},
        ),
    ] = None,
) -> FlowStatusResponses:
    """List the flows of a virtual node, newest first, optionally only those in one status.

    Flows started through this API and responder flows are listed; a
    responder's clientRequestId is `<sessionId>-INITIATED`. Subflows are not.
    The list comes from Temporal's visibility store, which lags a flow's
    status by about a second.
    """
    if flow_status is not None and flow_status not in FLOW_STATUSES:
        raise ApiError(
            400,
            f"Invalid status filter {shorten(flow_status)!r}: use one of {', '.join(FLOW_STATUSES)}",
            {"status": shorten(flow_status)},
        )
    statuses = await flows.list_flow_statuses(client, vnode.short_hash, flow_status=flow_status, ui_url=settings.ui_url)
    return FlowStatusResponses(flow_status_responses=statuses)


@router.get(
    "/{holdingIdentityShortHash}/{clientRequestId}",
    response_model=FlowStatus,
    responses=error_responses(400, 404, 503),
)
async def read_flow_status(
    vnode: VNodeDep, client_request_id: ClientRequestIdDep, settings: SettingsDep, client: TemporalClientDep
) -> FlowStatus:
    """Read the status of one flow.

    `flowStatus` is START_REQUESTED until a worker first runs the flow, then
    RUNNING, and finally COMPLETED (with `flowResult`), FAILED (with
    `flowError`) or KILLED. `workflowUrl` opens the flow in the Temporal Web UI.
    """
    return await _read_status(vnode, client_request_id, settings, client)


@router.get(
    "/{holdingIdentityShortHash}/{clientRequestId}/result",
    response_model=FlowResultResponse,
    responses={
        202: {"model": FlowResultResponse, "description": "The flow has not ended yet; `json` is null"},
        **error_responses(400, 404, 503),
    },
)
async def read_flow_result(
    vnode: VNodeDep,
    client_request_id: ClientRequestIdDep,
    settings: SettingsDep,
    client: TemporalClientDep,
    response: Response,
) -> FlowResultResponse:
    """Read the result of one flow, embedded as JSON.

    Returns 202 while the flow is START_REQUESTED or RUNNING, and 200 once it
    has ended. The `json` field contains the flow's result as a JSON value when
    the result text parses as JSON, and as a string otherwise.
    """
    status = await _read_status(vnode, client_request_id, settings, client)
    if status.flow_status in _UNFINISHED:
        response.status_code = 202
    return FlowResultResponse.from_status(status)


def _check_startable(vnode: VNode, flow_class_name: str) -> None:
    startable = sorted(vnode.registry.startable)
    if flow_class_name in startable:
        return
    responders = {qualified_name(responder) for responder in vnode.registry.responders.values()}
    if flow_class_name in responders:
        reason = "is a responder flow, which only a counterparty's session starts"
    else:
        reason = "is not a flow in the virtual node's CorDapps"
    raise ApiError(
        400,
        f"Flow class {shorten(flow_class_name)!r} cannot be started on virtual node {vnode.short_hash}: it "
        f"{reason}. Use a class that GET /api/v5_2/flowclass/{vnode.short_hash} lists",
        {
            "flowClassName": shorten(flow_class_name),
            "holdingIdentityShortHash": vnode.short_hash,
            "x500Name": str(vnode.name),
            "cordapps": ", ".join(vnode.member.cordapps),
            "startableFlows": ", ".join(startable),
        },
    )


async def _read_status(vnode: VNode, client_request_id: str, settings: Settings, client: Client) -> FlowStatus:
    workflow_id = naming.client_flow_workflow_id(vnode.short_hash, client_request_id)
    status = await flows.read_flow_status(client, workflow_id, ui_url=settings.ui_url)
    if status is None:
        raise ApiError(
            404,
            f"No flow with clientRequestId {client_request_id!r} on virtual node {vnode.short_hash}; "
            f"GET /api/v5_2/flow/{vnode.short_hash} lists the virtual node's flows",
            {"holdingIdentityShortHash": vnode.short_hash, "clientRequestId": client_request_id},
        )
    return status
