"""The public flow API of Accord: what CorDapps import.

Everything here runs inside Temporal workflows, in the workflow sandbox, so
the package imports only the standard library, pydantic and temporalio.
"""

from workflows.errors import (
    CordaRuntimeException,
    CordaSessionException,
    FlowRegistrationError,
    FlowSandboxViolationException,
    PayloadSerializationException,
    PayloadTypeMismatchException,
    SessionTimeoutException,
)
from workflows.flows import (
    ClientRequestBody,
    ClientStartableFlow,
    Flow,
    ResponderFlow,
    SubFlow,
    initiated_by,
    initiating_flow,
)
from workflows.context import FlowContextProperties, FlowContextPropertyError
from workflows.external import OperationContext, external_operation
from workflows.identity import MemberX500Name
from workflows.services import (
    FlowEngine,
    FlowMessaging,
    JsonMarshallingService,
    MemberInfo,
    MemberLookup,
)
from workflows.sessions import FlowInfo, FlowSession, SessionState

__all__ = [
    "ClientRequestBody",
    "ClientStartableFlow",
    "CordaRuntimeException",
    "CordaSessionException",
    "Flow",
    "FlowContextProperties",
    "FlowContextPropertyError",
    "FlowEngine",
    "FlowInfo",
    "FlowMessaging",
    "FlowRegistrationError",
    "FlowSandboxViolationException",
    "FlowSession",
    "JsonMarshallingService",
    "MemberInfo",
    "MemberLookup",
    "MemberX500Name",
    "OperationContext",
    "PayloadSerializationException",
    "PayloadTypeMismatchException",
    "ResponderFlow",
    "SessionState",
    "SessionTimeoutException",
    "SubFlow",
    "external_operation",
    "initiated_by",
    "initiating_flow",
]
