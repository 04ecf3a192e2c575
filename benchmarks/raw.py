"""Raw-Temporal conversation: the hops of Accord's ``ConversationFlow``, written directly against the SDK.

Workflow A (the initiator) runs on the initiator's task queue. It schedules
one activity on the responder's task queue, which signal-with-starts
workflow B (conflict policy USE_EXISTING, reuse policy REJECT_DUPLICATE)
carrying A's opening messages. A and B then exchange the rounds as signals
through external workflow handles: A sends a number, and B replies with
that number plus one.
B ends with a ``close`` message, which A waits for before it completes.

With ``in_child``, A is ``RawChildInitiator``: the activity carries only the
round count, and once it has returned A runs child workflow C
(``<A's ID>/child``, same task queue) and returns C's result. C runs every
round. Its first signal names C as the reply-to, so B sends its replies, and
the close, to C directly. These are the hops of Accord's conversation held
in a subflow: the parent waits for the responder's start before it lends the
session, and the child's first message carries its workflow ID.

Two message layouts:

- ``batched`` (the hops Accord's sessions make): the start signal carries the
  round count and the first number, and B's last reply carries the close.
  With ``in_child`` the first number goes from C, so only the close is grouped.
- ``separate``: one signal per message. The start signal carries only the
  round count, A signals the first number once the activity has returned,
  and B sends the close as a signal of its own after its last reply.

This module is re-imported inside the workflow sandbox for every run, so it
imports only the standard library, pydantic and temporalio.
"""

from __future__ import annotations

from collections import deque
from datetime import timedelta
from typing import Any, Literal

from pydantic import BaseModel, Field
from temporalio import activity, workflow
from temporalio.client import Client, WorkflowHandle
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.worker import Worker, WorkflowRunner
from temporalio.workflow import ParentClosePolicy

MESSAGE_SIGNAL = "raw.message"
START_RESPONDER_ACTIVITY = "raw.start_responder"
INITIATOR_WORKFLOW = "benchmarks.raw.RawInitiator"
CHILD_INITIATOR_WORKFLOW = "benchmarks.raw.RawChildInitiator"
CHILD_WORKFLOW = "benchmarks.raw.RawChild"
RESPONDER_WORKFLOW = "benchmarks.raw.RawResponder"


class RawMessage(BaseModel):
    kind: Literal["rounds", "data", "close"]
    value: int = 0


class RawBatch(BaseModel):
    """The argument of the message signal: one or more messages in send order."""

    messages: list[RawMessage]
    reply_to: str | None = Field(default=None, exclude_if=lambda value: value is None)
    """Workflow ID the receiver sends its next messages to. Left out of the payload when unset,
    so the top-level conversation's signals keep their size."""


class InitiatorInput(BaseModel):
    rounds: int
    responder_workflow_id: str
    responder_task_queue: str
    batched: bool = True


class ResponderInput(BaseModel):
    initiator_workflow_id: str
    """Workflow ID that B sends to until a message names another reply-to."""
    batched: bool = True


class ChildInput(BaseModel):
    rounds: int
    responder_workflow_id: str


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
        self._reply_to: str | None = None

    @workflow.signal(name=MESSAGE_SIGNAL)
    def on_message(self, batch: RawBatch) -> None:
        self._inbox.extend(batch.messages)
        if batch.reply_to is not None:
            self._reply_to = batch.reply_to

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


@workflow.defn(name=CHILD_INITIATOR_WORKFLOW)
class RawChildInitiatorWorkflow:
    """A that starts B with the round count, then hands every round to child workflow C."""

    @workflow.run
    async def run(self, request: InitiatorInput) -> list[int]:
        # C can signal B only once the activity has started it, as Accord lends a session only once it is open.
        await workflow.execute_activity(
            START_RESPONDER_ACTIVITY,
            StartResponderInput(
                workflow_id=request.responder_workflow_id,
                task_queue=request.responder_task_queue,
                responder=ResponderInput(
                    initiator_workflow_id=workflow.info().workflow_id, batched=request.batched
                ),
                batch=RawBatch(messages=[RawMessage(kind="rounds", value=request.rounds)]),
            ),
            result_type=StartResponderResult,
            task_queue=request.responder_task_queue,
            start_to_close_timeout=timedelta(seconds=30),
        )
        return await workflow.execute_child_workflow(
            CHILD_WORKFLOW,
            ChildInput(rounds=request.rounds, responder_workflow_id=request.responder_workflow_id),
            id=child_workflow_id(workflow.info().workflow_id),
            task_queue=workflow.info().task_queue,
            parent_close_policy=ParentClosePolicy.REQUEST_CANCEL,
            result_type=list[int],
        )


@workflow.defn(name=CHILD_WORKFLOW)
class RawChildWorkflow(_Inbox):
    """C: sends every number to B, naming itself as the reply-to in the first signal, and returns the replies."""

    @workflow.run
    async def run(self, request: ChildInput) -> list[int]:
        responder = workflow.get_external_workflow_handle(request.responder_workflow_id)
        received: list[int] = []
        number = 0
        for round_index in range(request.rounds):
            reply_to = workflow.info().workflow_id if round_index == 0 else None
            await responder.signal(
                MESSAGE_SIGNAL, RawBatch(messages=[RawMessage(kind="data", value=number)], reply_to=reply_to)
            )
            reply = await self._receive("data")
            received.append(reply.value)
            number = reply.value + 1
        await self._receive("close")
        return received


@workflow.defn(name=RESPONDER_WORKFLOW)
class RawResponderWorkflow(_Inbox):
    @workflow.run
    async def run(self, request: ResponderInput) -> None:
        rounds = (await self._receive("rounds")).value
        for round_index in range(rounds):
            number = (await self._receive("data")).value
            reply = [RawMessage(kind="data", value=number + 1)]
            if request.batched and round_index == rounds - 1:
                reply.append(RawMessage(kind="close"))
            await self._peer(request).signal(MESSAGE_SIGNAL, RawBatch(messages=reply))
        if not request.batched:
            await self._peer(request).signal(MESSAGE_SIGNAL, RawBatch(messages=[RawMessage(kind="close")]))

    def _peer(self, request: ResponderInput) -> workflow.ExternalWorkflowHandle[Any]:
        return workflow.get_external_workflow_handle(self._reply_to or request.initiator_workflow_id)


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
    """Create a worker for one side's task queue, registering every workflow and the activity as Accord's do."""
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[RawInitiatorWorkflow, RawChildInitiatorWorkflow, RawChildWorkflow, RawResponderWorkflow],
        activities=[start_responder],
        workflow_runner=workflow_runner,
        max_cached_workflows=max_cached_workflows,
        sticky_queue_schedule_to_start_timeout=sticky_queue_schedule_to_start_timeout,
        graceful_shutdown_timeout=timedelta(seconds=10),
    )


def responder_workflow_id(initiator_workflow_id: str) -> str:
    return f"{initiator_workflow_id}/responder"


def child_workflow_id(initiator_workflow_id: str) -> str:
    return f"{initiator_workflow_id}/child"


async def start_raw_conversation(
    client: Client,
    *,
    workflow_id: str,
    initiator_task_queue: str,
    responder_task_queue: str,
    rounds: int,
    batched: bool,
    in_child: bool = False,
) -> WorkflowHandle:
    """Start workflow A, which starts B itself through the activity on ``responder_task_queue``.

    With ``in_child``, A runs the rounds in child workflow C.
    """
    return await client.start_workflow(
        CHILD_INITIATOR_WORKFLOW if in_child else INITIATOR_WORKFLOW,
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
