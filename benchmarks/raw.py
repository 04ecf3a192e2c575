"""Raw-Temporal conversation: the hops of Accord's ``ConversationFlow``, written directly against the SDK.

Workflow A (the initiator) runs on the initiator's task queue. It schedules
one activity on the responder's task queue, which signal-with-starts
workflow B (conflict policy USE_EXISTING, reuse policy REJECT_DUPLICATE)
carrying A's opening messages. A and B then exchange the rounds as signals
through external workflow handles: A sends a number, and B replies with
that number plus one.
B ends with a ``close`` message, which A waits for before it completes.

Two message layouts:

- ``batched`` (the hops Accord's sessions make): the start signal carries the
  round count and the first number, and B's last reply carries the close.
- ``separate``: one signal per message. The start signal carries only the
  round count, A signals the first number once the activity has returned,
  and B sends the close as a signal of its own after its last reply.

This module is re-imported inside the workflow sandbox for every run, so it
imports only the standard library, pydantic and temporalio.
"""

from __future__ import annotations

from collections import deque
from datetime import timedelta
from typing import Literal

from pydantic import BaseModel
from temporalio import activity, workflow
from temporalio.client import Client, WorkflowHandle
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.worker import Worker, WorkflowRunner

MESSAGE_SIGNAL = "raw.message"
START_RESPONDER_ACTIVITY = "raw.start_responder"
INITIATOR_WORKFLOW = "benchmarks.raw.RawInitiator"
RESPONDER_WORKFLOW = "benchmarks.raw.RawResponder"


class RawMessage(BaseModel):
    kind: Literal["rounds", "data", "close"]
    value: int = 0


class RawBatch(BaseModel):
    """The argument of the message signal: one or more messages in send order."""

    messages: list[RawMessage]


class InitiatorInput(BaseModel):
    rounds: int
    responder_workflow_id: str
    responder_task_queue: str
    batched: bool = True


class ResponderInput(BaseModel):
    initiator_workflow_id: str
    batched: bool = True


class StartResponderInput(BaseModel):
    workflow_id: str
    task_queue: str
    responder: ResponderInput
    batch: RawBatch
    """Messages delivered with the start: the start signal's argument."""


class StartResponderResult(BaseModel):
    responder_workflow_id: str


class _Inbox:
    """A message signal handler and a queue the workflow receives from in arrival order."""

    def __init__(self) -> None:
        self._inbox: deque[RawMessage] = deque()

    @workflow.signal(name=MESSAGE_SIGNAL)
    def on_message(self, batch: RawBatch) -> None:
        self._inbox.extend(batch.messages)

    async def _receive(self, kind: str) -> RawMessage:
        await workflow.wait_condition(lambda: bool(self._inbox))
        message = self._inbox.popleft()
        if message.kind != kind:
            raise ApplicationError(
                f"Expected a {kind!r} message, received {message.kind!r}",
                type="UnexpectedMessage",
                non_retryable=True,
            )
        return message


@workflow.defn(name=INITIATOR_WORKFLOW)
class RawInitiatorWorkflow(_Inbox):
    @workflow.run
    async def run(self, request: InitiatorInput) -> list[int]:
        opening = [RawMessage(kind="rounds", value=request.rounds)]
        if request.batched:
            opening.append(RawMessage(kind="data", value=0))
        responder_start = workflow.start_activity(
            START_RESPONDER_ACTIVITY,
            StartResponderInput(
                workflow_id=request.responder_workflow_id,
                task_queue=request.responder_task_queue,
                responder=ResponderInput(
                    initiator_workflow_id=workflow.info().workflow_id, batched=request.batched
                ),
                batch=RawBatch(messages=opening),
            ),
            result_type=StartResponderResult,
            task_queue=request.responder_task_queue,
            start_to_close_timeout=timedelta(seconds=30),
        )
        responder = workflow.get_external_workflow_handle(request.responder_workflow_id)
        received: list[int] = []
        number = 0
        for round_index in range(request.rounds):
            if round_index > 0 or not request.batched:
                # B cannot be signalled before the activity has started it.
                await responder_start
                await responder.signal(MESSAGE_SIGNAL, RawBatch(messages=[RawMessage(kind="data", value=number)]))
            reply = await self._receive("data")
            received.append(reply.value)
            number = reply.value + 1
        await self._receive("close")
        await responder_start
        return received


@workflow.defn(name=RESPONDER_WORKFLOW)
class RawResponderWorkflow(_Inbox):
    @workflow.run
    async def run(self, request: ResponderInput) -> None:
        initiator = workflow.get_external_workflow_handle(request.initiator_workflow_id)
        rounds = (await self._receive("rounds")).value
        for round_index in range(rounds):
            number = (await self._receive("data")).value
            reply = [RawMessage(kind="data", value=number + 1)]
            if request.batched and round_index == rounds - 1:
                reply.append(RawMessage(kind="close"))
            await initiator.signal(MESSAGE_SIGNAL, RawBatch(messages=reply))
        if not request.batched:
            await initiator.signal(MESSAGE_SIGNAL, RawBatch(messages=[RawMessage(kind="close")]))


@activity.defn(name=START_RESPONDER_ACTIVITY)
async def start_responder(request: StartResponderInput) -> StartResponderResult:
    """Signal-with-start the responder; a retry after the responder ended changes nothing."""
    try:
        await activity.client().start_workflow(
            RESPONDER_WORKFLOW,
            request.responder,
            id=request.workflow_id,
            task_queue=request.task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            start_signal=MESSAGE_SIGNAL,
            start_signal_args=[request.batch],
        )
    except WorkflowAlreadyStartedError:
        pass
    return StartResponderResult(responder_workflow_id=request.workflow_id)


def create_raw_worker(
    client: Client,
    task_queue: str,
    *,
    workflow_runner: WorkflowRunner,
    max_cached_workflows: int,
    sticky_queue_schedule_to_start_timeout: timedelta,
) -> Worker:
    """Create a worker for one side's task queue, registering both workflows and the activity as Accord's do."""
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[RawInitiatorWorkflow, RawResponderWorkflow],
        activities=[start_responder],
        workflow_runner=workflow_runner,
        max_cached_workflows=max_cached_workflows,
        sticky_queue_schedule_to_start_timeout=sticky_queue_schedule_to_start_timeout,
        graceful_shutdown_timeout=timedelta(seconds=10),
    )


def responder_workflow_id(initiator_workflow_id: str) -> str:
    return f"{initiator_workflow_id}/responder"


async def start_raw_conversation(
    client: Client,
    *,
    workflow_id: str,
    initiator_task_queue: str,
    responder_task_queue: str,
    rounds: int,
    batched: bool,
) -> WorkflowHandle:
    """Start workflow A, which starts B itself through the activity on ``responder_task_queue``."""
    return await client.start_workflow(
        INITIATOR_WORKFLOW,
        InitiatorInput(
            rounds=rounds,
            responder_workflow_id=responder_workflow_id(workflow_id),
            responder_task_queue=responder_task_queue,
            batched=batched,
        ),
        id=workflow_id,
        task_queue=initiator_task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        result_type=list[int],
    )
