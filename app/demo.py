"""The demo of ``accord dev --demo``: the sample flows started and followed through the REST API over HTTP.

It does what an operator would do with curl: ``POST /api/v5_2/flow/{shortHash}``
for each flow, then ``GET /api/v5_2/flow/{shortHash}/{clientRequestId}`` until
the flow ends. Alice runs three flows:

- quotes for "tea" from Bob and Charlie, which COMPLETES with the best quote;
- quotes for "sugar", which Charlie does not sell: Charlie's responder raises,
  and Alice's flow ends FAILED with Charlie's message, as expected;
- a conversation of 10 rounds with Bob, the last 4 held in a subflow given
  the parent's session, which COMPLETES.

The outcome is one table, with the Temporal Web UI link of each flow and of
its subflows, which run as child workflows. The REST API lists no subflows,
as in Corda, so their links are built from the parent's workflow ID.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from app.flows import workflow_url
from workflows.identity import MemberX500Name
from workflows.membership import NetworkMember, StaticNetwork

logger = logging.getLogger(__name__)

API_PREFIX = "/api/v5_2"
END_STATUSES = frozenset({"COMPLETED", "FAILED", "KILLED"})
QUOTES_FLOW = "cordapps.quotes.RequestQuotesFlow"
CONVERSATION_FLOW = "cordapps.conversation.ConversationFlow"

DEFAULT_TIMEOUT = 120.0
"""Seconds each demo flow may take to end before the demo gives up on it."""
POLL_INTERVAL = 0.5
RESULT_WIDTH = 72
"""Characters of a result or error shown in the table; longer ones lose their middle."""


class DemoNetworkError(ValueError):
    """The network lacks the members or CorDapps that the demo flows need."""


@dataclass(frozen=True)
class DemoFlow:
    """One flow the demo starts, and the status it should end with."""

    label: str
    initiator: MemberX500Name
    flow_class_name: str
    request_body: dict[str, Any]
    expected_status: str
    slug: str
    """Readable part of the client request ID, such as ``quotes-tea``."""
    subflows: tuple[str, ...] = ()
    """Class names of the subflows the flow runs, in the order it starts them."""


@dataclass
class DemoOutcome:
    """Outcome of one demo flow: its last status and its result or error."""

    flow: DemoFlow
    short_hash: str
    client_request_id: str
    status: str = "NOT STARTED"
    result: str | None = None
    error: str | None = None
    workflow_url: str = ""

    @property
    def as_expected(self) -> bool:
        return self.status == self.flow.expected_status


def demo_flows(network: StaticNetwork) -> list[DemoFlow]:
    """Return the three demo flows, all started by Alice.

    Raises:
        DemoNetworkError: Alice, Bob or Charlie is missing, or does not run the
            sample CorDapps ``cordapps.quotes`` and ``cordapps.conversation``.
    """
    alice = _member(network, "Alice")
    bob = _member(network, "Bob")
    charlie = _member(network, "Charlie")
    suppliers = [str(bob.name), str(charlie.name)]
    return [
        DemoFlow(
            label="RequestQuotesFlow tea",
            initiator=alice.name,
            flow_class_name=QUOTES_FLOW,
            request_body={"item": "tea", "suppliers": suppliers},
            expected_status="COMPLETED",
            slug="quotes-tea",
            subflows=("CollectQuotesSubFlow",),
        ),
        DemoFlow(
            label="RequestQuotesFlow sugar",
            initiator=alice.name,
            flow_class_name=QUOTES_FLOW,
            request_body={"item": "sugar", "suppliers": suppliers},
            expected_status="FAILED",
            slug="quotes-sugar",
            subflows=("CollectQuotesSubFlow",),
        ),
        DemoFlow(
            label="ConversationFlow 10 rounds",
            initiator=alice.name,
            flow_class_name=CONVERSATION_FLOW,
            request_body={"counterparty": str(bob.name), "rounds": 10, "in_subflow": 4},
            expected_status="COMPLETED",
            slug="conversation",
            subflows=("ContinueConversationSubFlow",),
        ),
    ]


def _member(network: StaticNetwork, common_name: str) -> NetworkMember:
    member = next((member for member in network.members if member.name.common_name == common_name), None)
    if member is None:
        raise DemoNetworkError(
            f"The demo needs a member with CN={common_name}, and network group {network.group_id} has none; "
            "run the demo on the default network (leave out --network)"
        )
    missing = [module for module in ("cordapps.quotes", "cordapps.conversation") if module not in member.cordapps]
    if missing:
        raise DemoNetworkError(
            f"The demo needs {member.name} to run the CorDapps {', '.join(missing)}; "
            "add them to its cordapps in the network file, or leave out --network"
        )
    return member


async def run_demo(
    api_url: str,
    network: StaticNetwork,
    *,
    ui_url: str,
    namespace: str = "default",
    auth: tuple[str, str] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    poll_interval: float = POLL_INTERVAL,
) -> list[DemoOutcome]:
    """Start every demo flow through the REST API, then poll each until it ends or ``timeout`` passes.

    Args:
        api_url: Base address of the REST API, such as ``http://127.0.0.1:8888``.
        network: The network the API serves; it gives the vnodes' short hashes.
        ui_url: Base address of the Temporal Web UI, for links the API does not return.
        namespace: Temporal namespace of the flows, for those links.
        auth: HTTP Basic user name and password, sent with every request.
        timeout: Seconds each flow may take to end.
        poll_interval: Seconds between two status requests for one flow.

    Returns:
        One outcome per demo flow, in the order of ``demo_flows``.
    """
    flows = demo_flows(network)
    run_id = uuid.uuid4().hex[:8]
    outcomes = []
    for flow in flows:
        short_hash = network.short_hash(flow.initiator)
        # The run ID keeps request IDs unique across runs on one state folder,
        # since a flow's ID may not be reused while Temporal keeps its history.
        client_request_id = f"demo-{flow.slug}-{run_id}"
        outcomes.append(
            DemoOutcome(
                flow=flow,
                short_hash=short_hash,
                client_request_id=client_request_id,
                workflow_url=workflow_url(ui_url, namespace, f"{short_hash}/{client_request_id}"),
            )
        )

    async with httpx.AsyncClient(base_url=api_url, auth=auth, timeout=10) as http:
        for outcome in outcomes:
            await _start(http, outcome)
        await asyncio.gather(
            *(_follow(http, outcome, timeout, poll_interval) for outcome in outcomes if outcome.error is None)
        )
    return outcomes


async def _start(http: httpx.AsyncClient, outcome: DemoOutcome) -> None:
    flow = outcome.flow
    body = {
        "clientRequestId": outcome.client_request_id,
        "flowClassName": flow.flow_class_name,
        "requestBody": flow.request_body,
    }
    logger.info(
        "Starting %s on %s as %s: POST %s/flow/%s",
        flow.flow_class_name,
        flow.initiator.common_name,
        outcome.client_request_id,
        API_PREFIX,
        outcome.short_hash,
    )
    try:
        response = await http.post(f"{API_PREFIX}/flow/{outcome.short_hash}", json=body)
    except httpx.HTTPError as error:
        outcome.error = f"Start request failed: {type(error).__name__}: {error}"
        logger.error("Cannot start %s: %s", outcome.client_request_id, outcome.error)
        return
    if response.status_code != 202:
        outcome.error = f"Start request returned HTTP {response.status_code}: {response.text}"
        logger.error("Cannot start %s: %s", outcome.client_request_id, outcome.error)
        return
    _update(outcome, response.json())


async def _follow(http: httpx.AsyncClient, outcome: DemoOutcome, timeout: float, poll_interval: float) -> None:
    path = f"{API_PREFIX}/flow/{outcome.short_hash}/{outcome.client_request_id}"
    deadline = time.monotonic() + timeout
    while outcome.status not in END_STATUSES:
        if time.monotonic() > deadline:
            outcome.error = f"Still {outcome.status} after {timeout:.0f} s"
            logger.error("Demo flow %s did not end within %.0f s", outcome.client_request_id, timeout)
            return
        await asyncio.sleep(poll_interval)
        try:
            response = await http.get(path)
        except httpx.HTTPError as error:
            outcome.error = f"Status request failed: {type(error).__name__}: {error}"
            logger.error("Cannot read the status of %s: %s", outcome.client_request_id, outcome.error)
            return
        if response.status_code != 200:
            outcome.error = f"Status request returned HTTP {response.status_code}: {response.text}"
            logger.error("Cannot read the status of %s: %s", outcome.client_request_id, outcome.error)
            return
        _update(outcome, response.json())
    logger.info("Demo flow %s ended %s", outcome.client_request_id, outcome.status)


def _update(outcome: DemoOutcome, status: dict[str, Any]) -> None:
    outcome.status = status.get("flowStatus") or outcome.status
    outcome.result = status.get("flowResult")
    error = status.get("flowError")
    if isinstance(error, dict):
        outcome.error = error.get("message") or json.dumps(error)
    elif error:
        outcome.error = str(error)
    outcome.workflow_url = status.get("workflowUrl") or outcome.workflow_url


def all_as_expected(outcomes: Sequence[DemoOutcome]) -> bool:
    """Tell whether every demo flow ended with its expected status."""
    return all(outcome.as_expected for outcome in outcomes)


def format_table(outcomes: Sequence[DemoOutcome], network: StaticNetwork) -> str:
    """Lay out the outcomes as a plain-text table, one row per flow, with a closing count line.

    Results and errors show members by common name and lose their middle
    when too long, because an error's cause and a result's last field come last.
    """
    common_names = {str(member.name): member.name.common_name for member in network.members if member.name.common_name}
    header = ("Flow", "VNode", "clientRequestId", "Status", "Result or error", "Temporal Web UI")
    rows = [header]
    for outcome in outcomes:
        status = outcome.status
        if outcome.as_expected and status == "FAILED":
            status += " (expected)"
        elif not outcome.as_expected:
            status += f" (expected {outcome.flow.expected_status})"
        detail = outcome.error if outcome.error is not None else outcome.result
        rows.append(
            (
                outcome.flow.label,
                outcome.flow.initiator.common_name or str(outcome.flow.initiator),
                outcome.client_request_id,
                status,
                _shorten(_with_common_names(detail or "", common_names), RESULT_WIDTH),
                outcome.workflow_url,
            )
        )
        for index, name in enumerate(outcome.flow.subflows, start=1):
            # A subflow's workflow ID is its parent's plus /sub/<n>, percent-encoded like the rest.
            rows.append((f"  subflow {name}", "", "", "", "", f"{outcome.workflow_url}%2Fsub%2F{index}"))

    widths = [max(len(row[column]) for row in rows) for column in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    matched = sum(outcome.as_expected for outcome in outcomes)
    lines.append(f"Demo: {matched} of {len(outcomes)} flows ended as expected")
    return "\n".join(lines)


def _with_common_names(text: str, common_names: dict[str, str]) -> str:
    for name, common_name in common_names.items():
        text = text.replace(name, common_name)
    return text


def _shorten(text: str, width: int) -> str:
    flat = " ".join(text.split())
    if len(flat) <= width:
        return flat
    head = (width - 3) // 2
    tail = width - 3 - head
    return f"{flat[:head]}...{flat[-tail:]}"
