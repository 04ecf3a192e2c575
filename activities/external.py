"""The activity that runs a CorDapp's external operations, outside the workflow sandbox."""

from __future__ import annotations

import asyncio
import inspect
import logging
import typing
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from workflows import naming, payloads
from workflows.envelopes import ExternalOperationInput, ExternalOperationResult
from workflows.errors import CordaRuntimeException
from workflows.external import OperationContext
from workflows.registry import FlowRegistry

logger = logging.getLogger(__name__)


class ExternalOperationActivities:
    """Runs the external operations that one vnode's CorDapps declare."""

    def __init__(self, registry: FlowRegistry) -> None:
        self._registry = registry

    @activity.defn(name=naming.EXTERNAL_OPERATION_ACTIVITY)
    async def run_external_operation(self, request: ExternalOperationInput) -> ExternalOperationResult:
        """Call the named operation with its argument; a CordaRuntimeException it raises is not retried."""
        info = activity.info()
        log_context = {"flow_id": request.flow_id, "vnode": request.vnode, "session_id": "-"}
        operation = self._registry.operations.get(request.operation)
        if operation is None:
            declared = ", ".join(sorted(self._registry.operations)) or "none"
            message = (
                f"External operation {request.operation!r} is not declared by the CorDapps of {request.vnode} "
                f"(declared: {declared}); mark it @external_operation in a module the network lists for the vnode"
            )
            logger.warning(message, extra=log_context)
            raise ApplicationError(message, type=CordaRuntimeException.__name__, non_retryable=True)
        try:
            argument = payloads.validate(_argument_type(operation), request.argument, context=f"for {request.operation}")
        except CordaRuntimeException as error:
            logger.warning("External operation %s got an invalid argument: %s", request.operation, error, extra=log_context)
            raise ApplicationError(str(error), type=CordaRuntimeException.__name__, non_retryable=True) from error
        context = OperationContext(
            idempotency_key=request.idempotency_key, flow_id=request.flow_id, vnode=request.vnode, attempt=info.attempt
        )
        logger.info(
            "Running external operation %s, attempt %d, key %s",
            request.operation,
            info.attempt,
            request.idempotency_key,
            extra=log_context,
        )
        try:
            result = await _call(operation, argument, context)
        except CordaRuntimeException as error:
            logger.warning("External operation %s failed: %s", request.operation, error, extra=log_context)
            raise ApplicationError(str(error), type=CordaRuntimeException.__name__, non_retryable=True) from error
        except Exception as error:
            logger.warning(
                "External operation %s attempt %d failed, to be retried: %s",
                request.operation,
                info.attempt,
                error,
                extra=log_context,
            )
            raise
        result_type, text = payloads.encode(result)
        return ExternalOperationResult(result_type=result_type, result=text)


def _argument_type(operation: Any) -> Any:
    parameters = [
        parameter
        for parameter in inspect.signature(operation).parameters.values()
        if parameter.name != "context" and parameter.kind in (parameter.POSITIONAL_ONLY, parameter.POSITIONAL_OR_KEYWORD)
    ]
    if not parameters:
        return Any
    return typing.get_type_hints(operation).get(parameters[0].name, Any)


async def _call(operation: Any, argument: Any, context: OperationContext) -> Any:
    parameters = inspect.signature(operation).parameters
    positional = [
        name for name, parameter in parameters.items()
        if name != "context" and parameter.kind in (parameter.POSITIONAL_ONLY, parameter.POSITIONAL_OR_KEYWORD)
    ]
    args = [argument] if positional else []
    kwargs = {"context": context} if "context" in parameters else {}
    if inspect.iscoroutinefunction(operation):
        return await operation(*args, **kwargs)
    # A blocking function runs on a thread so it does not stall the worker's other activities.
    return await asyncio.to_thread(operation, *args, **kwargs)
