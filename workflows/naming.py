"""Temporal names for Corda concepts: task queues, workflow IDs, signals, search attributes.

This module is the one place where the mapping of vnodes, flows and sessions
onto Temporal names is written down. The REST API, the workers, the
activities and the flow host all import it.

- A vnode is the task queue ``vnode-<shortHash>`` and the workflow ID prefix
  ``<shortHash>/``.
- A client-started flow is the workflow ``<shortHash>/<clientRequestId>``.
- A responder is the workflow ``<shortHash>/<sessionId>-INITIATED``.
- A flow's workflow type is its class's qualified name.
"""

from __future__ import annotations

import re

from temporalio.common import SearchAttributeKey, SearchAttributePair, TypedSearchAttributes

RESPONDER_SUFFIX = "-INITIATED"
"""Suffix Corda gives a responder's client request ID, after the session ID."""

CLIENT_REQUEST_ID_PATTERN = re.compile(r"[-._A-Za-z0-9]{1,242}")
SHORT_HASH_PATTERN = re.compile(r"[0-9A-Fa-f]{12}")

SESSION_SIGNAL = "accord.session"
"""Signal carrying a batch of session envelopes to a flow's workflow."""

STATUS_QUERY = "accord.flow_status"
INITIATE_SESSION_ACTIVITY = "accord.initiate_session"
LOOKUP_MEMBER_ACTIVITY = "accord.lookup_member"
EXTERNAL_OPERATION_ACTIVITY = "accord.external_operation"

CORDA_VNODE = SearchAttributeKey.for_keyword("CordaVNode")
CORDA_FLOW_NAME = SearchAttributeKey.for_keyword("CordaFlowName")
CORDA_FLOW_KIND = SearchAttributeKey.for_keyword("CordaFlowKind")
CORDA_FLOW_STATUS = SearchAttributeKey.for_keyword("CordaFlowStatus")
CORDA_INITIATOR = SearchAttributeKey.for_keyword("CordaInitiator")
CORDA_TX_ID = SearchAttributeKey.for_keyword_list("CordaTxId")
SEARCH_ATTRIBUTES = (
    CORDA_VNODE,
    CORDA_FLOW_NAME,
    CORDA_FLOW_KIND,
    CORDA_FLOW_STATUS,
    CORDA_INITIATOR,
    CORDA_TX_ID,
)

MEMO_FLOW_ID = "flowId"
MEMO_CLIENT_REQUEST_ID = "clientRequestId"

KILL_REASON = "Killed through Accord"
"""Termination reason that marks a terminated flow as KILLED rather than FAILED."""


def flow_search_attributes(
    *, short_hash: str, flow_name: str, kind: str, initiator: str | None = None
) -> TypedSearchAttributes:
    """Return the search attributes a flow's workflow starts with, status START_REQUESTED."""
    pairs = [
        SearchAttributePair(CORDA_VNODE, short_hash),
        SearchAttributePair(CORDA_FLOW_NAME, flow_name),
        SearchAttributePair(CORDA_FLOW_KIND, kind),
        SearchAttributePair(CORDA_FLOW_STATUS, "START_REQUESTED"),
    ]
    if initiator is not None:
        pairs.append(SearchAttributePair(CORDA_INITIATOR, initiator))
    return TypedSearchAttributes(pairs)


def task_queue(short_hash: str) -> str:
    """Return the task queue of the vnode with this holding identity short hash."""
    return f"vnode-{short_hash.upper()}"


def client_flow_workflow_id(short_hash: str, client_request_id: str) -> str:
    """Return the workflow ID of a flow started through REST."""
    return f"{short_hash.upper()}/{client_request_id}"


def responder_workflow_id(short_hash: str, session_id: str) -> str:
    """Return the workflow ID of the responder flow of a session on that vnode."""
    return f"{short_hash.upper()}/{session_id}{RESPONDER_SUFFIX}"


def split_workflow_id(workflow_id: str) -> tuple[str, str]:
    """Split a flow's workflow ID into its vnode short hash and its client request ID."""
    short_hash, _, client_request_id = workflow_id.partition("/")
    return short_hash, client_request_id
