"""The flow host: runs each flow class as a Temporal workflow type.

Defining a flow class calls :func:`define_flow_workflow`, which creates a
workflow class ``_<FlowName>Workflow`` in the flow's own module, named for
Temporal by the flow's qualified class name. Temporal's sandbox re-imports
that module for every run, so CorDapp code stays sandboxed and deterministic
while this package is passed through.

The host turns the flow's outcome into the workflow's:

- a return value becomes the workflow result (a model as its JSON);
- any exception from flow code sends an error on every open session, waits
  for delivery and fails the workflow with a non-retryable ``ApplicationError``,
  so Temporal never retries a flow's own bug forever;
- a sandbox violation fails the flow with a message naming what to move out;
- cancellation (a kill) errors the sessions and ends the workflow cancelled;
- non-determinism and bugs in this package fail the workflow task, which
  Temporal retries until a fixed worker replays it.
"""

from __future__ import annotations

import asyncio
import sys
import typing
from typing import Any, ClassVar

from pydantic import BaseModel
from temporalio import workflow
from temporalio.exceptions import ApplicationError

from workflows import flows, naming, payloads
from workflows.envelopes import (
    ClientFlowInput,
    FlowKind,
    FlowStatusView,
    ResponderFlowInput,
    SessionBatch,
)
from workflows.errors import CordaRuntimeException, FlowSandboxViolationException
from workflows.identity import MemberX500Name
from workflows.services import FlowEngine, FlowMessaging, JsonMarshallingService, MemberLookup
from workflows.sessions import SessionManager

with workflow.unsafe.imports_passed_through():
    from temporalio.worker.workflow_sandbox import RestrictedWorkflowAccessError


def qualified_name(cls: type) -> str:
    """Return a flow class's qualified name: its workflow type and its REST ``flowClassName``."""
    return f"{cls.__module__}.{cls.__qualname__}"


def workflow_class_name(cls: type) -> str:
    return f"_{cls.__name__}Workflow"


def define_flow_workflow(flow_class: type) -> None:
    """Create the workflow class of a flow class and put it in the flow's module.

    Local and nested classes get none; registration reports them, because the
    sandbox can only re-import a class defined at a module's top level.
    """
    if "." in flow_class.__qualname__ or flow_class.__module__ not in sys.modules:
        return
    if issubclass(flow_class, flows.ClientStartableFlow):
        base: type[FlowWorkflow] = ClientFlowWorkflow
    elif issubclass(flow_class, flows.ResponderFlow):
        base = ResponderFlowWorkflow
    else:
        return
    name = workflow_class_name(flow_class)
    module = sys.modules[flow_class.__module__]
    workflow_cls = type(name, (base,), {"flow_class": flow_class, "__module__": flow_class.__module__})
    workflow_cls.run = _run_method(workflow_cls, base)  # type: ignore[attr-defined]
    workflow.defn(name=qualified_name(flow_class))(workflow_cls)
    setattr(module, name, workflow_cls)
    flow_class.__accord_workflow__ = workflow_cls  # type: ignore[attr-defined]


def _run_method(workflow_cls: type, base: type[FlowWorkflow]) -> Any:
    """Build a ``@workflow.run`` method that Temporal accepts as defined on ``workflow_cls`` itself."""
    if base is ClientFlowWorkflow:

        async def run(self: ClientFlowWorkflow, flow_input: ClientFlowInput) -> str | None:
            return await self._run_client(flow_input)

        run.__annotations__ = {"flow_input": ClientFlowInput, "return": typing.Optional[str]}
    else:

        async def run(self: ResponderFlowWorkflow, flow_input: ResponderFlowInput) -> None:  # type: ignore[misc]
            await self._run_responder(flow_input)

        run.__annotations__ = {"flow_input": ResponderFlowInput, "return": None}
    run.__module__ = workflow_cls.__module__
    run.__qualname__ = f"{workflow_cls.__name__}.run"
    return workflow.run(run)


class FlowWorkflow:
    """Behaviour shared by the workflows of every flow class."""

    flow_class: ClassVar[type]

    def __init__(self) -> None:
        # Built from the workflow's input in _start, so the signal handler can
        # take in messages that arrive with the start, before run begins.
        self._manager = SessionManager(vnode=_PLACEHOLDER_NAME, workflow_id=workflow.info().workflow_id, flow_id="")
        self._kind = FlowKind.CLIENT

    @workflow.signal(name=naming.SESSION_SIGNAL)
    def on_session_batch(self, batch: SessionBatch) -> None:
        self._manager.on_batch(batch)

    @workflow.query(name=naming.STATUS_QUERY)
    def flow_status(self) -> FlowStatusView:
        return FlowStatusView(
            flow_id=self._manager.flow_id,
            flow_class_name=qualified_name(self.flow_class),
            vnode=str(self._manager.vnode),
            step=self._manager.step,
            sessions=self._manager.views(),
        )

    def _start(self, *, flow_id: str, vnode: str) -> None:
        self._manager.vnode = MemberX500Name.parse(vnode)
        self._manager.flow_id = flow_id
        workflow.upsert_search_attributes([naming.CORDA_FLOW_STATUS.value_set("RUNNING")])
        self._manager.set_step("running")
        workflow.logger.info(
            "Flow %s started as %s", qualified_name(self.flow_class), self._kind.value, extra=self._log_context()
        )

    def _instantiate(self, default_timeout_seconds: float) -> Any:
        """Create the flow object and inject the services its annotations ask for."""
        flow = self.flow_class()
        services: dict[type, Any] = {
            FlowEngine: FlowEngine(
                self._manager, flow_id=self._manager.flow_id, virtual_node_name=self._manager.vnode
            ),
            FlowMessaging: FlowMessaging(
                self._manager, flow_class=self.flow_class, default_timeout_seconds=default_timeout_seconds
            ),
            MemberLookup: MemberLookup(self._manager, my_name=self._manager.vnode),
            JsonMarshallingService: JsonMarshallingService(),
        }
        for attribute, service_type in injected_services(self.flow_class).items():
            setattr(flow, attribute, services[service_type])
        return flow

    async def _finish(self, result: Any) -> str | None:
        """Close the sessions, drain the outbox and return the flow's result as text."""
        await self._manager.close_all()
        text = result_text(result)
        if text is not None:
            payloads.check_size(len(text.encode()), what=f"The result of {qualified_name(self.flow_class)}")
        await self._manager.drain()
        workflow.upsert_search_attributes([naming.CORDA_FLOW_STATUS.value_set("COMPLETED")])
        workflow.logger.info("Flow completed", extra=self._log_context())
        return text

    async def _fail(self, error: BaseException) -> BaseException:
        """Error the open sessions, drain the outbox and return what ends the workflow."""
        if isinstance(error, asyncio.CancelledError):
            workflow.logger.info("Flow killed: its workflow was cancelled", extra=self._log_context())
            self._manager.error_all(CordaRuntimeException("The counterparty flow was killed"))
            await self._manager.drain()
            workflow.upsert_search_attributes([naming.CORDA_FLOW_STATUS.value_set("KILLED")])
            return error
        if isinstance(error, RestrictedWorkflowAccessError):
            error = FlowSandboxViolationException(
                f"{qualified_name(self.flow_class)} used {error.qualified_name}, which flow code may not use "
                "because it is not deterministic on replay; move it into an external operation, or use "
                "flow_engine for time and sleeping"
            )
        workflow.logger.warning(
            "Flow failed: %s: %s", type(error).__name__, error, extra=self._log_context(), exc_info=error
        )
        self._manager.error_all(error)
        await self._manager.drain()
        workflow.upsert_search_attributes([naming.CORDA_FLOW_STATUS.value_set("FAILED")])
        return ApplicationError(
            str(error) or type(error).__name__,
            type=qualified_name(type(error)),
            non_retryable=True,
        )

    async def _run_flow(self, call: Any) -> str | None:
        try:
            result = await call
            return await self._finish(result)
        except workflow.NondeterminismError as error:
            if not isinstance(error, RestrictedWorkflowAccessError):
                raise
            raise await self._fail(error) from None
        except (Exception, asyncio.CancelledError) as error:
            raise await self._fail(error) from error

    def _log_context(self) -> dict[str, str]:
        return {"flow_id": self._manager.flow_id, "vnode": str(self._manager.vnode), "session_id": "-"}


class ClientFlowWorkflow(FlowWorkflow):
    """Workflow of a flow started through the REST API."""

    async def _run_client(self, flow_input: ClientFlowInput) -> str | None:
        self._kind = FlowKind.CLIENT
        self._start(flow_id=flow_input.flow_id, vnode=flow_input.vnode)
        flow = self._instantiate(flow_input.session_timeout_seconds)
        return await self._run_flow(flow.call(flows.ClientRequestBody(flow_input.request_body)))


class ResponderFlowWorkflow(FlowWorkflow):
    """Workflow of a responder flow, started by a session's first message."""

    async def _run_responder(self, flow_input: ResponderFlowInput) -> None:
        self._kind = FlowKind.RESPONDER
        self._start(flow_id=flow_input.flow_id, vnode=flow_input.vnode)
        session = self._manager.create_responder_session(
            session_id=flow_input.session_id,
            initiator=MemberX500Name.parse(flow_input.initiator),
            initiator_workflow_id=flow_input.initiator_workflow_id,
            protocol=flow_input.protocol,
            protocol_version=flow_input.protocol_version,
            require_close=flow_input.require_close,
            timeout_seconds=flow_input.session_timeout_seconds,
        )
        flow = self._instantiate(flow_input.session_timeout_seconds)
        await self._run_flow(flow.call(session))


def injected_services(flow_class: type) -> dict[str, type]:
    """Return the attributes of a flow class annotated with a service type, and those types."""
    hints = typing.get_type_hints(flow_class)
    return {name: hint for name, hint in hints.items() if hint in SERVICE_TYPES}


def result_text(result: Any) -> str | None:
    """Return a flow's result as ``flowResult`` text: a string as is, anything else as JSON."""
    if result is None or isinstance(result, str):
        return result
    if isinstance(result, BaseModel):
        return result.model_dump_json()
    try:
        return JsonMarshallingService().format(result)
    except CordaRuntimeException as error:
        raise CordaRuntimeException(
            f"The flow's result is not serialisable: {type(result).__qualname__}; return a string, "
            "a pydantic model, or primitives and lists or dicts of them"
        ) from error


SERVICE_TYPES: frozenset[type] = frozenset({FlowEngine, FlowMessaging, MemberLookup, JsonMarshallingService})
_PLACEHOLDER_NAME = MemberX500Name(organization="Accord", locality="Nowhere", country="ZZ")
