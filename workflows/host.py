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
from temporalio.exceptions import ApplicationError, ChildWorkflowError
from temporalio.workflow import ParentClosePolicy

from workflows import context, flows, naming, payloads, subflows
from workflows.context import FlowContextProperties
from workflows.envelopes import (
    ClientFlowInput,
    FlowKind,
    FlowStatusView,
    ResponderFlowInput,
    SessionBatch,
    SubFlowFailure,
    SubFlowInput,
    SubFlowResult,
)
from workflows.errors import CordaRuntimeException, FlowSandboxViolationException
from workflows.identity import MemberX500Name
from workflows.services import FlowEngine, FlowMessaging, JsonMarshallingService, MemberLookup
from workflows.session_manager import SessionManager

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
    elif issubclass(flow_class, flows.SubFlow):
        base = SubFlowWorkflow
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
    elif base is SubFlowWorkflow:

        async def run(self: SubFlowWorkflow, flow_input: SubFlowInput) -> SubFlowResult:  # type: ignore[misc]
            return await self._run_sub_flow(flow_input)

        run.__annotations__ = {"flow_input": SubFlowInput, "return": SubFlowResult}
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
        self._context = FlowContextProperties({}, {})

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

    def _instantiate(self, default_timeout_seconds: float, flow: Any = None) -> Any:
        """Create the flow object (unless given) and inject the services its annotations ask for."""
        if flow is None:
            flow = self.flow_class()
        self._default_timeout_seconds = default_timeout_seconds
        services: dict[type, Any] = {
            FlowEngine: FlowEngine(
                self._manager,
                flow_id=self._manager.flow_id,
                virtual_node_name=self._manager.vnode,
                context=self._context,
                run_sub_flow=self._run_child,
            ),
            FlowMessaging: FlowMessaging(
                self._manager,
                flow_class=self.flow_class,
                default_timeout_seconds=default_timeout_seconds,
                context=self._context,
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
            self._manager.error_all(CordaRuntimeException("The counterparty flow was killed"), include_borrowed=True)
            await self._manager.drain()
            workflow.upsert_search_attributes([naming.CORDA_FLOW_STATUS.value_set("KILLED")])
            return error
        if isinstance(error, RestrictedWorkflowAccessError):
            error = FlowSandboxViolationException(
                f"{qualified_name(self.flow_class)} used {error.qualified_name}, which flow code may not use "
                "because it is not deterministic on replay; move it into an external operation, or use "
                "flow_engine for time and sleeping"
            )
        # A CordaRuntimeException is the flow's own report; any other exception may be a bug, so keep its trace.
        workflow.logger.warning(
            "Flow failed: %s: %s",
            type(error).__name__,
            error,
            extra=self._log_context(),
            exc_info=None if isinstance(error, CordaRuntimeException) else error,
        )
        self._manager.error_all(error)
        await self._manager.drain()
        workflow.upsert_search_attributes([naming.CORDA_FLOW_STATUS.value_set("FAILED")])
        return ApplicationError(
            str(error) or type(error).__name__,
            *self._failure_details(error),
            type=qualified_name(type(error)),
            non_retryable=True,
        )

    def _failure_details(self, error: BaseException) -> list[Any]:
        return []

    async def _run_child(self, sub_flow: flows.SubFlow[Any]) -> Any:
        """Run a subflow as a child workflow, lending it the sessions among its arguments."""
        cls = type(sub_flow)
        if "__accord_workflow__" not in cls.__dict__:
            raise CordaRuntimeException(
                f"Subflow {qualified_name(cls)} has no workflow definition; define it at the top level of "
                "a module that the vnode's CorDapps list"
            )

        arguments, lent = subflows.encode_arguments(sub_flow)
        child_id = f"{workflow.info().workflow_id}/sub/{self._manager.next_child_index()}"
        snapshots = await self._manager.lend(lent, child_id)

        flow_name = qualified_name(cls)
        short_hash, _ = naming.split_workflow_id(workflow.info().workflow_id)
        handle = await workflow.start_child_workflow(
            flow_name,
            SubFlowInput(
                flow_id=self._manager.flow_id,
                vnode=str(self._manager.vnode),
                arguments=arguments,
                sessions=snapshots,
                context=self._context.snapshot(),
                session_timeout_seconds=self._default_timeout_seconds,
            ),
            id=child_id,
            task_queue=workflow.info().task_queue,
            parent_close_policy=ParentClosePolicy.REQUEST_CANCEL,
            result_type=SubFlowResult,
            search_attributes=naming.flow_search_attributes(
                short_hash=short_hash, flow_name=flow_name, kind=FlowKind.SUBFLOW.value
            ),
            static_summary=f"{cls.__name__}, subflow of {self.flow_class.__name__}",
        )
        workflow.logger.info("Started subflow %s as %s", flow_name, child_id, extra=self._log_context())

        try:
            await self._manager.wait(handle.done, step=f"waiting for subflow {cls.__name__}")
        except BaseException:
            # The child errors its sessions when cancelled; wait for that before this flow ends.
            handle.cancel()
            await asyncio.wait([handle])
            raise

        try:
            result = handle.result()
        except ChildWorkflowError as failure:
            raise self._take_back_after_failure(failure, lent, cls) from None
        self._manager.take_back(result.sessions)
        return subflows.decode_result(cls, result.result_type, result.result)

    def _take_back_after_failure(
        self, failure: ChildWorkflowError, lent: list[Any], cls: type
    ) -> BaseException:
        cause = failure.cause
        details = list(cause.details) if isinstance(cause, ApplicationError) else []
        if details:
            report = SubFlowFailure.model_validate(details[0])
            self._manager.take_back(report.sessions)
            return subflows.rebuild_exception(report.error_class, report.message)
        reason = getattr(cause, "message", None) or str(failure)
        self._manager.fail_lent(lent, f"Subflow {cls.__qualname__} ended without handing back its sessions: {reason}")
        return CordaRuntimeException(f"Subflow {qualified_name(cls)} failed: {reason}")

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
        self._context = FlowContextProperties(
            {
                **flow_input.context.platform,
                **context.initial_platform_properties(
                    client_id=flow_input.client_request_id, cordapps=self.flow_class.__module__
                ),
            },
            flow_input.context.user,
        )
        flow = self._instantiate(flow_input.session_timeout_seconds)
        return await self._run_flow(flow.call(flows.ClientRequestBody(flow_input.request_body)))


class ResponderFlowWorkflow(FlowWorkflow):
    """Workflow of a responder flow, started by a session's first message."""

    async def _run_responder(self, flow_input: ResponderFlowInput) -> None:
        self._kind = FlowKind.RESPONDER
        self._start(flow_id=flow_input.flow_id, vnode=flow_input.vnode)
        own_platform = context.initial_platform_properties(
            client_id=f"{flow_input.session_id}{naming.RESPONDER_SUFFIX}", cordapps=self.flow_class.__module__
        )
        flow_context, session_context = context.responder_context(own_platform, flow_input.context)
        self._context = FlowContextProperties(flow_context.platform, flow_context.user)
        session = self._manager.create_responder_session(
            session_id=flow_input.session_id,
            initiator=MemberX500Name.parse(flow_input.initiator),
            initiator_workflow_id=flow_input.initiator_workflow_id,
            protocol=flow_input.protocol,
            protocol_version=flow_input.protocol_version,
            require_close=flow_input.require_close,
            timeout_seconds=flow_input.session_timeout_seconds,
            context=session_context,
        )
        flow = self._instantiate(flow_input.session_timeout_seconds)
        await self._run_flow(flow.call(session))


class SubFlowWorkflow(FlowWorkflow):
    """Workflow of a subflow: a child workflow of the flow that called ``sub_flow``."""

    async def _run_sub_flow(self, flow_input: SubFlowInput) -> SubFlowResult:
        self._kind = FlowKind.SUBFLOW
        self._start(flow_id=flow_input.flow_id, vnode=flow_input.vnode)
        self._context = FlowContextProperties(flow_input.context.platform, flow_input.context.user)
        borrowed = self._manager.borrow(flow_input.sessions)
        try:
            args, kwargs = subflows.decode_arguments(self.flow_class, flow_input.arguments, borrowed)
            sub_flow = self.flow_class(*args, **kwargs)
        except Exception as error:
            raise await self._fail(
                CordaRuntimeException(f"Cannot rebuild subflow {qualified_name(self.flow_class)}: {error}")
            ) from error
        flow = self._instantiate(flow_input.session_timeout_seconds, sub_flow)
        text = await self._run_flow(self._call_and_encode(flow))
        result_type, _, result = (text or "").partition("\n")
        return SubFlowResult(result_type=result_type, result=result, sessions=self._manager.return_borrowed())

    async def _call_and_encode(self, flow: Any) -> str:
        result = await flow.call()
        result_type, text = payloads.encode(result)
        return f"{result_type}\n{text}"

    def _failure_details(self, error: BaseException) -> list[Any]:
        return [
            SubFlowFailure(
                error_class=qualified_name(type(error)),
                message=str(error),
                sessions=self._manager.return_borrowed(),
            )
        ]


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
