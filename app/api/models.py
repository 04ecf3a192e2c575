"""Request and response bodies of the REST API, in the JSON shapes of Corda 5's flow REST API.

Field names are camelCase on the wire, as in Corda (``clientRequestId``,
``holdingIdentityShortHash``), and snake_case in Python. The flow status
itself is :class:`app.flows.FlowStatus`, shared with the test network.
"""

from __future__ import annotations

import json
import math
from datetime import datetime
from functools import cached_property
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, JsonValue, field_validator
from pydantic.alias_generators import to_camel

from app.flows import FlowError, FlowStatus
from workflows import naming
from workflows.payloads import BATCH_OVERHEAD_BYTES, MAX_MESSAGE_BYTES

MAX_REQUEST_BODY_BYTES = MAX_MESSAGE_BYTES - BATCH_OVERHEAD_BYTES
"""Largest ``requestBody``, counted as it travels escaped inside the flow's start input.

Temporal rejects a payload over 2 MiB, and the start input contains the body as a
JSON string next to a few short fields.
"""

_EXCERPT_CHARACTERS = 64


class ApiModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, serialize_by_alias=True)


class ErrorResponse(ApiModel):
    """Body of every error response, in Corda's shape."""

    title: str = Field(description="What failed, on which value, and what to do about it")
    status: int = Field(description="The HTTP status code, repeated")
    details: dict[str, str] = Field(
        default_factory=dict, description="Further facts, such as the field at fault or the flows you can start"
    )


class StartFlowParameters(ApiModel):
    """Request to start a flow on a virtual node."""

    model_config = ConfigDict(extra="forbid")

    client_request_id: str = Field(
        description=(
            "Your ID for this start, unique on the virtual node: 1 to 242 characters from A-Z, a-z, 0-9, "
            "'-', '.' and '_', not ending in -INITIATED. A second start with the same ID returns 409."
        ),
        examples=["issue-42"],
    )
    flow_class_name: str = Field(
        description="Qualified class name of a startable flow; GET /flowclass/{holdingIdentityShortHash} lists them",
        examples=["cordapps.quotes.RequestQuotesFlow"],
    )
    request_body: JsonValue = Field(
        default_factory=dict,
        description=(
            "The flow's input: any JSON value, or a string containing JSON. Both forms reach the flow as the "
            "same compact JSON text. Omitted means {}."
        ),
        examples=[{"item": "tea", "suppliers": ["CN=Bob, OU=Test Dept, O=R3, L=London, C=GB"]}],
    )

    @field_validator("client_request_id")
    @classmethod
    def _check_client_request_id(cls, client_request_id: str) -> str:
        excerpt = shorten(client_request_id)
        if not naming.CLIENT_REQUEST_ID_PATTERN.fullmatch(client_request_id):
            raise ValueError(
                f"Invalid clientRequestId {excerpt!r}: use 1 to 242 characters from A-Z, a-z, 0-9, '-', '.' and '_'"
            )
        if client_request_id.endswith(naming.RESPONDER_SUFFIX):
            raise ValueError(
                f"Invalid clientRequestId {excerpt!r}: the suffix {naming.RESPONDER_SUFFIX} is reserved for "
                "the IDs of responder flows, so choose an ID without it"
            )
        return client_request_id

    @field_validator("request_body")
    @classmethod
    def _check_request_body(cls, request_body: JsonValue) -> JsonValue:
        request_body_text(request_body)
        return request_body

    @cached_property
    def request_body_text(self) -> str:
        """The ``requestBody`` as the flow receives it: compact JSON text."""
        return request_body_text(self.request_body)


def request_body_text(value: Any) -> str:
    """Encode a ``requestBody`` as the JSON text a flow receives.

    A string is parsed as JSON first, so ``{"a": 1}`` and ``"{\\"a\\": 1}"``
    give the same text. Numbers with a fraction pass through as 64-bit floats,
    so exact decimal amounts should be sent as JSON strings.

    Raises:
        ValueError: A string that is not JSON, a value that is NaN or infinite,
            or a body larger than :data:`MAX_REQUEST_BODY_BYTES`.
    """
    if isinstance(value, str):
        try:
            value = json.loads(value, parse_constant=_reject_constant)
        except ValueError as error:
            raise ValueError(
                f"Invalid requestBody: the string {shorten(value)!r} is not JSON ({error}); send the input "
                "as a JSON value, or as a string that contains JSON"
            ) from None
    try:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except ValueError:
        raise ValueError(
            "Invalid requestBody: it contains NaN or an infinite number, which JSON cannot carry; "
            "send such values as strings"
        ) from None
    size = len(json.dumps(text, ensure_ascii=False).encode())
    if size > MAX_REQUEST_BODY_BYTES:
        raise ValueError(
            f"Invalid requestBody: it takes {size} bytes in the flow's start input, over the limit of "
            f"{MAX_REQUEST_BODY_BYTES} bytes, so pass large data by reference instead"
        )
    return text


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not a JSON number")


def shorten(text: str) -> str:
    """Cut user input to a length fit to repeat in an error title."""
    if len(text) <= _EXCERPT_CHARACTERS:
        return text
    return text[:_EXCERPT_CHARACTERS] + "..."


class FlowStatusResponses(ApiModel):
    """The flows of a virtual node, newest first."""

    flow_status_responses: list[FlowStatus]


class FlowResultResponse(ApiModel):
    """A flow's status with its result embedded as JSON, in Corda's ``FlowResultResponse`` shape."""

    holding_identity_short_hash: str
    client_request_id: str | None
    flow_id: str | None
    flow_status: str
    json_result: JsonValue = Field(
        default=None,
        alias="json",
        description=(
            "The flow's result once COMPLETED: embedded as JSON when the result text parses as JSON, "
            "else the text as a JSON string. Null before then and for a flow that did not complete."
        ),
    )
    flow_error: FlowError | None = None
    timestamp: datetime
    workflow_id: str
    workflow_url: str

    @classmethod
    def from_status(cls, status: FlowStatus) -> FlowResultResponse:
        """Build the result response of a flow status, embedding ``flowResult`` as JSON where it parses."""
        return cls(
            holding_identity_short_hash=status.holding_identity_short_hash,
            client_request_id=status.client_request_id,
            flow_id=status.flow_id,
            flow_status=status.flow_status,
            json_result=embedded_json(status.flow_result),
            flow_error=status.flow_error,
            timestamp=status.timestamp,
            workflow_id=status.workflow_id,
            workflow_url=status.workflow_url,
        )


def embedded_json(text: str | None) -> JsonValue:
    """Return result text as the JSON value it contains, or unchanged when it is not JSON."""
    if text is None:
        return None
    try:
        return json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float)
    except ValueError:
        return text


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} does not fit a 64-bit float")
    return value


class FlowClassNames(ApiModel):
    """The flows a virtual node can start, by qualified class name."""

    flow_class_names: list[str]


class HoldingIdentity(ApiModel):
    x500_name: str = Field(description="The member's X.500 name in canonical form")
    group_id: str
    short_hash: str = Field(description="First 12 characters of fullHash; identifies the vnode in REST paths")
    full_hash: str = Field(description="Upper-case hex SHA-256 of the X.500 name followed by the group ID")


class CpiIdentifier(ApiModel):
    """The CorDapps a vnode runs, standing in for Corda's CPI."""

    cpi_name: str = Field(description="The vnode's CorDapp modules, comma-separated; empty when it runs none")
    cpi_version: str = Field(description="Version of the installed accord distribution")
    signer_summary_hash: str | None = Field(default=None, description="Always null: CorDapp modules are not signed")


class VirtualNodeInfo(ApiModel):
    """A virtual node, in Corda's ``VirtualNodeInfo`` shape."""

    holding_identity: HoldingIdentity
    cpi_identifier: CpiIdentifier
    flow_p2p_operational_status: str = Field(default="ACTIVE", alias="flowP2pOperationalStatus")
    flow_start_operational_status: str = "ACTIVE"
    flow_operational_status: str = "ACTIVE"
    vault_db_operational_status: str = "ACTIVE"
    operation_in_progress: str | None = None


class VirtualNodes(ApiModel):
    """Every virtual node of the network."""

    virtual_nodes: list[VirtualNodeInfo]


class RestMemberInfo(ApiModel):
    """A member of the membership group, as Corda's member lookup returns it."""

    member_context: dict[str, str] = Field(description="Properties the member declares, such as corda.name")
    mgm_context: dict[str, str] = Field(description="Properties the group manager sets, such as corda.status")


class RestMemberInfoList(ApiModel):
    """The members of a virtual node's group that match the filters."""

    members: list[RestMemberInfo]
