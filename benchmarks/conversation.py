"""Benchmark Accord's ConversationFlow against raw Temporal doing the same hops, in one run.

The script starts its own Temporal dev server on loopback, with the embedded
default's settings and a fresh SQLite file. It runs the Accord workers of two
vnodes and the raw harness's workers in this process, under the same worker
settings (the sandboxed runner and the SDK's default slots). Each repeat
measures, one after the other:

- Accord, with the conversation at the top level of the initiating flow;
- Accord, with every round held in ``ContinueConversationSubFlow``, a child
  workflow that borrows the parent's session;
- raw Temporal, the same hops as Accord at the top level;
- with ``--raw-child``, raw Temporal with the rounds held in a child workflow.

Each side runs two phases:

- unloaded: conversations one at a time after a warm-up; round trip
  latency, conversation latency, and server work per conversation. Work is
  counted over every workflow of a conversation: initiator, child, responder;
- loaded: a fixed number of conversations in flight; throughput and latency.

It prints a table of medians over the repeats with the ratios Accord/raw,
subflow/Accord and subflow/raw, and the performance targets for Accord/raw.
It measures; it does not judge: it exits 0 whenever every conversation
completes, whatever the figures are.

    python -m benchmarks.conversation --help
"""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import json
import logging
import math
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, Protocol

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client, WorkflowHandle
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from app.binaries import temporal_cli
from app.devserver import search_attribute_args, server_args
from app.network import load_network
from app.testing import TestNetwork
from app.worker import connect, sandbox_runner
from benchmarks import metrics, raw
from workflows import naming

logger = logging.getLogger("benchmarks.conversation")

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_NETWORK = REPO_ROOT / "tests" / "networks" / "test-network.json"
CONVERSATION_FLOW = "cordapps.conversation.ConversationFlow"
NAMESPACE = "default"

# The settings create_vnode_worker gives Accord's workers, repeated for the raw workers.
WORKER_CACHE_SIZE = 1000
STICKY_QUEUE_TIMEOUT = timedelta(seconds=5)

METRICS_REPORT_SECONDS = 1.2
"""A little over the dev server's metrics reporting interval: its Prometheus counters move once a second."""

HISTORY_READERS = 8
"""Histories fetched at once after the loaded phase."""

QUIET_SERVER_CPU = 0.05
"""Share of one core under which the server counts as idle. An idle dev server used under 1 % here."""


@dataclass(frozen=True)
class Settings:
    rounds: int
    warmup: int
    unloaded: int
    in_flight: int
    loaded: int
    repeats: int
    timeout: float
    raw_messages: str
    raw_child: bool
    network_file: Path
    initiator: str
    responder: str
    json_file: Path | None


# The dev server.


def free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class DevServer:
    """A ``temporal server start-dev`` subprocess on loopback, with a fresh SQLite file, stopped on exit."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = free_loopback_port()
        self.metrics_port = free_loopback_port()
        self.http_port = free_loopback_port()
        self.address = f"127.0.0.1:{self.port}"
        self.metrics_url = f"http://127.0.0.1:{self.metrics_port}/metrics"
        self.database_file = workdir / "temporal.sqlite"
        self.log_file = workdir / "server.log"
        self.process: subprocess.Popen[bytes] | None = None

    def command(self) -> list[str]:
        return [
            str(temporal_cli()),
            "server",
            "start-dev",
            "--ip",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--http-port",
            str(self.http_port),
            "--metrics-port",
            str(self.metrics_port),
            "--headless",
            "--log-level",
            "error",
            *server_args(database_file=str(self.database_file)),
            *search_attribute_args(),
        ]

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    async def start(self, timeout: float = 60.0) -> Client:
        """Start the server and return a client once it accepts connections."""
        with self.log_file.open("wb") as log:
            self.process = subprocess.Popen(
                self.command(),
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=_terminate_with_parent if sys.platform == "linux" else None,
            )
        deadline = time.monotonic() + timeout
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"The Temporal dev server exited with code {self.process.returncode} while starting; "
                    f"its log {self.log_file} ends with:\n{self.log_tail()}"
                )
            try:
                client = await asyncio.wait_for(connect(self.address, NAMESPACE), 5)
                metrics.read_state_transitions(self.metrics_url, NAMESPACE)
                return client
            except (OSError, RuntimeError, RPCError, asyncio.TimeoutError) as error:
                last_error = error
                await asyncio.sleep(0.25)
        raise RuntimeError(
            f"The Temporal dev server at {self.address} was not ready within {timeout:g} s "
            f"(last error: {last_error}); its log {self.log_file} ends with:\n{self.log_tail()}"
        )

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            logger.warning("The dev server (pid %d) ignored SIGTERM for 10 s; killing it", self.process.pid)
            self.process.kill()
            self.process.wait(timeout=10)

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def state_transitions(self) -> float:
        return metrics.read_state_transitions(self.metrics_url, NAMESPACE)

    def cpu_seconds(self) -> float:
        return metrics.process_cpu_seconds(self.pid)


def _terminate_with_parent() -> None:
    """Have Linux send the server SIGTERM when this script dies, even by SIGKILL, so no server is left behind."""
    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


# The sides.

ACCORD = "Accord"
ACCORD_SUBFLOW = "Accord, subflow"
RAW = "raw"
RAW_CHILD = "raw, child"


class Side(Protocol):
    name: str
    """Column heading, and the key of this side's figures in the JSON report."""
    slug: str
    """The name as it appears in workflow IDs."""

    async def start(self, conversation_id: str) -> WorkflowHandle: ...

    def check_result(self, result: Any) -> None: ...


def expected_numbers(rounds: int) -> list[int]:
    """Return what the initiator receives: it sends 0, 2, 4, ... and each reply is one more."""
    return [2 * index + 1 for index in range(rounds)]


class AccordSide:
    """ConversationFlow, with every round at the top level or, with ``in_subflow``, inside its subflow."""

    def __init__(
        self, network: TestNetwork, *, initiator: str, responder: str, rounds: int, in_subflow: bool
    ) -> None:
        self.name = ACCORD_SUBFLOW if in_subflow else ACCORD
        self.slug = "accord-subflow" if in_subflow else "accord"
        self._network = network
        self._initiator = initiator
        self._body = {
            "counterparty": str(network.vnode(responder)),
            "rounds": rounds,
            "in_subflow": rounds if in_subflow else 0,
        }
        self._rounds = rounds

    async def start(self, conversation_id: str) -> WorkflowHandle:
        return await self._network.start_flow(
            self._initiator, CONVERSATION_FLOW, self._body, client_request_id=conversation_id
        )

    def check_result(self, result: Any) -> None:
        received = json.loads(result)["received"] if isinstance(result, str) else None
        if received != expected_numbers(self._rounds):
            raise ValueError(
                f"ConversationFlow returned {result!r}, expected received={expected_numbers(self._rounds)}"
            )


class RawSide:
    """The raw harness, with the rounds in the initiator or, with ``in_child``, in its child workflow."""

    def __init__(
        self,
        client: Client,
        *,
        initiator_queue: str,
        responder_queue: str,
        rounds: int,
        batched: bool,
        in_child: bool,
    ) -> None:
        self.name = RAW_CHILD if in_child else RAW
        self.slug = "raw-child" if in_child else "raw"
        self._client = client
        self._initiator_queue = initiator_queue
        self._responder_queue = responder_queue
        self._rounds = rounds
        self._batched = batched
        self._in_child = in_child

    async def start(self, conversation_id: str) -> WorkflowHandle:
        return await raw.start_raw_conversation(
            self._client,
            workflow_id=f"raw/{conversation_id}",
            initiator_task_queue=self._initiator_queue,
            responder_task_queue=self._responder_queue,
            rounds=self._rounds,
            batched=self._batched,
            in_child=self._in_child,
        )

    def check_result(self, result: Any) -> None:
        if result != expected_numbers(self._rounds):
            raise ValueError(f"The raw initiator returned {result!r}, expected {expected_numbers(self._rounds)}")


# One conversation.


class ConversationFailure(Exception):
    """A conversation failed or did not finish in time. The message contains the evidence from its histories."""


@dataclass
class Conversation:
    initiator_id: str
    latency_ms: float
    responder_id: str | None = None
    initiator_events: list[HistoryEvent] = field(default_factory=list)
    child_events: list[list[HistoryEvent]] = field(default_factory=list)
    """The histories of the initiator's child workflows in start order, or none at the top level."""
    responder_events: list[HistoryEvent] = field(default_factory=list)

    def histories(self) -> list[list[HistoryEvent]]:
        """Return every workflow's history: the initiator's, its children's, then the responder's."""
        return [self.initiator_events, *self.child_events, self.responder_events]


async def complete_conversation(side: Side, client: Client, handle: WorkflowHandle, timeout: float) -> None:
    """Wait for the initiator's result and check it, or raise ConversationFailure with the evidence."""
    try:
        result = await asyncio.wait_for(handle.result(), timeout)
        side.check_result(result)
    except Exception as error:  # noqa: BLE001 - every failure is reported with its histories
        raise ConversationFailure(
            await failure_report(client, side.name, handle.id, error, timeout)
        ) from error


async def read_histories(client: Client, conversation: Conversation, timeout: float) -> None:
    """Fetch every workflow's history, waiting for the responder to complete first.

    The initiator has completed, so its children, whose results it awaited, have too.
    """
    initiator = client.get_workflow_handle(conversation.initiator_id)
    conversation.initiator_events = list((await initiator.fetch_history()).events)
    conversation.child_events = [
        list((await client.get_workflow_handle(child_id).fetch_history()).events)
        for child_id in metrics.child_workflow_ids(conversation.initiator_events)
    ]
    conversation.responder_id = metrics.responder_workflow_id(conversation.initiator_events)
    if conversation.responder_id is None:
        raise ConversationFailure(
            f"The initiator {conversation.initiator_id} completed, but its history has no completed activity "
            "naming a responder workflow"
        )
    responder = client.get_workflow_handle(conversation.responder_id)
    try:
        await asyncio.wait_for(responder.result(), timeout)
    except Exception as error:  # noqa: BLE001
        raise ConversationFailure(
            await failure_report(client, "responder", conversation.responder_id, error, timeout)
        ) from error
    conversation.responder_events = list((await responder.fetch_history()).events)


async def run_one(side: Side, client: Client, conversation_id: str, timeout: float) -> Conversation:
    started = time.perf_counter()
    handle = await side.start(conversation_id)
    await complete_conversation(side, client, handle, timeout)
    conversation = Conversation(initiator_id=handle.id, latency_ms=(time.perf_counter() - started) * 1000)
    await read_histories(client, conversation, timeout)
    return conversation


async def failure_report(client: Client, side: str, workflow_id: str, error: BaseException, timeout: float) -> str:
    """Describe a failed or stuck conversation: the error, then each workflow's status and last events."""
    if isinstance(error, asyncio.TimeoutError):
        headline = f"{side}: workflow {workflow_id} did not complete within {timeout:g} s"
    else:
        headline = f"{side}: workflow {workflow_id} failed: {type(error).__name__}: {error}"
        cause = getattr(error, "cause", None)
        if cause is not None:
            headline += f" (cause: {type(cause).__name__}: {cause})"
    lines = [headline]
    workflow_ids = [workflow_id]
    try:
        events = list((await client.get_workflow_handle(workflow_id).fetch_history()).events)
        workflow_ids += metrics.child_workflow_ids(events)
        responder_id = metrics.responder_workflow_id(events)
        if responder_id is not None and responder_id != workflow_id:
            workflow_ids.append(responder_id)
    except RPCError:
        pass
    for each_id in workflow_ids:
        lines += await describe_workflow(client, each_id)
    return "\n".join(lines)


async def describe_workflow(client: Client, workflow_id: str, last_events: int = 15) -> list[str]:
    handle = client.get_workflow_handle(workflow_id)
    try:
        description = await handle.describe()
        events = list((await handle.fetch_history()).events)
    except RPCError as error:
        return [f"  {workflow_id}: cannot read it: {error.message}"]
    status = description.status.name if description.status is not None else "UNKNOWN"
    lines = [f"  {workflow_id}: {status}, {len(events)} events; the last {min(last_events, len(events))}:"]
    start = metrics.event_ms(events[0]) if events else 0.0
    for event in events[-last_events:]:
        offset = metrics.event_ms(event) - start
        lines.append(
            f"    {event.event_id:4d} +{offset:9.1f} ms {metrics.event_type_name(event)}{event_detail(event)}"
        )
    for pending in description.raw_description.pending_activities:
        lines.append(
            f"    pending activity {pending.activity_type.name}: attempt {pending.attempt}, "
            f"last failure: {pending.last_failure.message or 'none'}"
        )
    return lines


def event_detail(event: HistoryEvent) -> str:
    """Return the failure message an event carries, if any."""
    attributes = getattr(event, event.WhichOneof("attributes") or "", None)
    failure = getattr(attributes, "failure", None)
    if failure is not None and failure.message:
        return f": {failure.message}"
    cause = getattr(attributes, "cause", None)
    if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED and cause:
        return f": cause {cause}"
    return ""


# Measurements.


TIMELINE_STEPS = (
    ("init_activity", "parent start -> init activity completed (starts the responder)"),
    ("start_request", "init activity completed -> StartChildWorkflowExecutionInitiated"),
    ("child_dispatch", "StartChildWorkflowExecutionInitiated -> child's first WorkflowTaskStarted"),
    ("child_first_task", "child's first workflow task, started -> completed"),
    ("first_round_trip", "child's first round trip (first signal sent -> reply)"),
    ("child_close", "child: last reply -> child completed"),
    ("hand_back", "child completed -> parent completed"),
)
"""Steps of a conversation held in a child workflow, read by ``metrics.child_timeline_ms``."""


def history_figures(conversations: Sequence[Conversation]) -> dict[str, float]:
    """Figures read from the histories of a set of conversations, per conversation where counted.

    Round trips are timed in every workflow on the initiator's side: the
    initiator and its child, if it hands the rounds to one. Counts cover
    every workflow of the conversation.
    """
    count = len(conversations)
    round_trips = [
        ms
        for c in conversations
        for events in (c.initiator_events, *c.child_events)
        for ms in metrics.signal_round_trips_ms(events)
    ]
    openings = [
        ms for c in conversations if (ms := metrics.opening_ms(c.initiator_events, c.child_events)) is not None
    ]
    closings = [
        ms for c in conversations if (ms := metrics.closing_ms(c.initiator_events, c.child_events)) is not None
    ]
    histories = [events for c in conversations for events in c.histories()]
    task_durations = [ms for events in histories for ms in metrics.workflow_task_durations_ms(events)]
    figures = {
        "round_trip_p50_ms": metrics.percentile(round_trips, 0.50),
        "round_trip_p99_ms": metrics.percentile(round_trips, 0.99),
        "round_trips_timed": len(round_trips) / count,
        "opening_p50_ms": metrics.percentile(openings, 0.50),
        "closing_p50_ms": metrics.percentile(closings, 0.50),
        "workflow_task_p50_ms": metrics.percentile(task_durations, 0.50),
        "workflow_tasks": sum(metrics.count_workflow_tasks(events) for events in histories) / count,
        "history_events": sum(len(events) for events in histories) / count,
        "history_bytes": sum(event.ByteSize() for events in histories for event in events) / count,
    }
    for role, role_histories in role_histories_of(conversations).items():
        role_tasks = sum(metrics.count_workflow_tasks(events) for events in role_histories)
        figures[f"{role}_events"] = sum(len(events) for events in role_histories) / count
        figures[f"{role}_workflow_tasks"] = role_tasks / count
    steps: dict[str, list[float]] = {}
    for c in conversations:
        for child_events in c.child_events:
            for step, ms in metrics.child_timeline_ms(c.initiator_events, child_events).items():
                steps.setdefault(step, []).append(ms)
    for step, values in steps.items():
        figures[f"timeline_{step}_p50_ms"] = metrics.percentile(values, 0.50)
    return figures


ROLES = (("initiator", "initiator (parent)"), ("child", "child"), ("responder", "responder"))


def role_histories_of(conversations: Sequence[Conversation]) -> dict[str, list[list[HistoryEvent]]]:
    return {
        "initiator": [c.initiator_events for c in conversations],
        "child": [events for c in conversations for events in c.child_events],
        "responder": [c.responder_events for c in conversations],
    }


def event_type_counts(conversations: Sequence[Conversation]) -> Counter[str]:
    counts: Counter[str] = Counter()
    for conversation in conversations:
        for events in conversation.histories():
            counts.update(metrics.count_event_types(events))
    return counts


async def settle_and_count(server: DevServer, attempts: int = 25) -> float:
    """Wait until the server is idle, then return its state-transition counter.

    Idle means one metrics report interval in which the counter did not move
    and the server used under 5 % of a core. The server publishes its
    counters once a second, so a value read right after a phase may miss its
    last writes, and background work left by one phase (visibility and timer
    tasks) would otherwise slow the next.
    """
    previous = server.state_transitions()
    cpu_before = server.cpu_seconds()
    for _ in range(attempts):
        await asyncio.sleep(METRICS_REPORT_SECONDS)
        current = server.state_transitions()
        cpu_after = server.cpu_seconds()
        if current == previous and cpu_after - cpu_before < QUIET_SERVER_CPU * METRICS_REPORT_SECONDS:
            return current
        previous, cpu_before = current, cpu_after
    logger.warning("The server was still busy after %d checks; using the counter's last value", attempts)
    return previous


async def measure_unloaded(
    side: Side, client: Client, server: DevServer, settings: Settings, run_label: str
) -> tuple[dict[str, float], Counter[str]]:
    """Run the warm-up, then conversations one at a time, each waiting for every workflow of the last to end."""
    for index in range(settings.warmup):
        await run_one(side, client, f"{run_label}-warmup-{index}", settings.timeout)
    transitions_before = await settle_and_count(server)
    conversations = [
        await run_one(side, client, f"{run_label}-unloaded-{index}", settings.timeout)
        for index in range(settings.unloaded)
    ]
    transitions_after = await settle_and_count(server)
    figures = history_figures(conversations)
    latencies = [conversation.latency_ms for conversation in conversations]
    figures["conversation_p50_ms"] = metrics.percentile(latencies, 0.50)
    figures["state_transitions"] = (transitions_after - transitions_before) / len(conversations)
    figures["transitions_counter"] = transitions_after
    return figures, event_type_counts(conversations)


async def measure_loaded(
    side: Side, client: Client, server: DevServer, settings: Settings, run_label: str, transitions_before: float
) -> dict[str, float]:
    """Keep ``in_flight`` conversations running until ``loaded`` have completed.

    Throughput counts the conversations completed while all slots were still
    busy: the first ``loaded - in_flight`` completions, over the time from the
    first start to the last of them. The rest is the drain at the end.
    ``transitions_before`` is the settled state-transition counter at the start.
    """
    slots = asyncio.Semaphore(settings.in_flight)
    completed_at: list[float] = []
    latencies: list[float] = []
    initiator_ids: list[str] = []

    async def converse(index: int) -> None:
        async with slots:
            started = time.perf_counter()
            handle = await side.start(f"{run_label}-loaded-{index}")
            initiator_ids.append(handle.id)
            await complete_conversation(side, client, handle, settings.timeout)
            finished = time.perf_counter()
            completed_at.append(finished)
            latencies.append((finished - started) * 1000)

    server_cpu_before = server.cpu_seconds()
    process_cpu_before = metrics.process_cpu_seconds()
    phase_start = time.perf_counter()
    tasks = [asyncio.create_task(converse(index)) for index in range(settings.loaded)]
    done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    for task in done:
        if task.exception() is not None:
            raise task.exception()  # type: ignore[misc]
    server_cpu = server.cpu_seconds() - server_cpu_before
    process_cpu = metrics.process_cpu_seconds() - process_cpu_before

    measured = max(settings.loaded - settings.in_flight, 1)
    window_seconds = sorted(completed_at)[measured - 1] - phase_start
    conversations_per_second = measured / window_seconds

    conversations = [Conversation(initiator_id=workflow_id, latency_ms=0.0) for workflow_id in initiator_ids]
    readers = asyncio.Semaphore(HISTORY_READERS)

    async def read(conversation: Conversation) -> None:
        async with readers:
            await read_histories(client, conversation, settings.timeout)

    await asyncio.gather(*(read(conversation) for conversation in conversations))
    transitions_after = await settle_and_count(server)
    figures = history_figures(conversations)
    return {
        "conversations_per_s": conversations_per_second,
        "round_trips_per_s": conversations_per_second * settings.rounds,
        "loaded_round_trip_p50_ms": figures["round_trip_p50_ms"],
        "loaded_round_trip_p99_ms": figures["round_trip_p99_ms"],
        "loaded_conversation_p50_ms": metrics.percentile(latencies, 0.50),
        "loaded_conversation_p99_ms": metrics.percentile(latencies, 0.99),
        "loaded_state_transitions": (transitions_after - transitions_before) / len(conversations),
        "loaded_workflow_tasks": figures["workflow_tasks"],
        "server_cpu_ms": server_cpu * 1000 / settings.loaded,
        "process_cpu_ms": process_cpu * 1000 / settings.loaded,
    }


# The table.


@dataclass(frozen=True)
class Row:
    label: str
    key: str
    decimals: int
    target: tuple[str, float] | None = None
    """("<=", 1.2) means Accord/raw must be at most 1.2; (">=", 0.75) at least 0.75."""


ROWS = (
    Row("unloaded: round trip p50 (ms)", "round_trip_p50_ms", 1, ("<=", 1.2)),
    Row("unloaded: round trip p99 (ms)", "round_trip_p99_ms", 1, ("<=", 1.5)),
    Row("unloaded: signal round trips timed / conversation", "round_trips_timed", 1),
    Row("unloaded: opening, start -> first reply p50 (ms)", "opening_p50_ms", 1),
    Row("unloaded: closing, last reply -> initiator completed p50 (ms)", "closing_p50_ms", 1),
    Row("unloaded: conversation, client start -> result p50 (ms)", "conversation_p50_ms", 0),
    Row("unloaded: workflow task, started -> completed p50 (ms)", "workflow_task_p50_ms", 1),
    Row("unloaded: state transitions / conversation", "state_transitions", 1, ("<=", 1.25)),
    Row("unloaded: workflow tasks / conversation (all workflows)", "workflow_tasks", 1, ("<=", 1.25)),
    Row("unloaded: history events / conversation (all workflows)", "history_events", 1),
    Row("unloaded: history size / conversation (bytes, all workflows)", "history_bytes", 0),
    Row("loaded: conversations/s", "conversations_per_s", 2, (">=", 0.75)),
    Row("loaded: round trips/s", "round_trips_per_s", 1),
    Row("loaded: round trip p50 (ms)", "loaded_round_trip_p50_ms", 0),
    Row("loaded: round trip p99 (ms)", "loaded_round_trip_p99_ms", 0),
    Row("loaded: conversation p50 (ms)", "loaded_conversation_p50_ms", 0),
    Row("loaded: conversation p99 (ms)", "loaded_conversation_p99_ms", 0),
    Row("loaded: state transitions / conversation", "loaded_state_transitions", 1),
    Row("loaded: workflow tasks / conversation", "loaded_workflow_tasks", 1),
    Row("loaded: server CPU ms / conversation", "server_cpu_ms", 1),
    Row("loaded: benchmark process CPU ms / conversation (workers + client)", "process_cpu_ms", 1),
)

SIDE_ORDER = (ACCORD, ACCORD_SUBFLOW, RAW, RAW_CHILD)

RATIOS = (
    ("Accord/raw", ACCORD, RAW),
    ("subflow/Accord", ACCORD_SUBFLOW, ACCORD),
    ("subflow/raw", ACCORD_SUBFLOW, RAW),
    ("subflow/raw child", ACCORD_SUBFLOW, RAW_CHILD),
    ("raw child/raw", RAW_CHILD, RAW),
)
"""Ratio columns: heading, numerator side, denominator side. A column whose sides did not run is left out."""


def format_figure(values: Sequence[float], decimals: int) -> str:
    """Return the median of the repeats, with their range when there are several."""
    finite = [value for value in values if not math.isnan(value)]
    if not finite:
        return "n/a"
    text = f"{metrics.median(finite):,.{decimals}f}"
    if len(finite) > 1:
        text += f" [{min(finite):,.{decimals}f}-{max(finite):,.{decimals}f}]"
    return text


def ratio_of_medians(accord: Sequence[float], baseline: Sequence[float]) -> float:
    numerator, denominator = metrics.median(accord), metrics.median(baseline)
    if math.isnan(numerator) or math.isnan(denominator) or denominator == 0:
        return math.nan
    return numerator / denominator


def format_ratio(ratio: float) -> str:
    return "n/a" if math.isnan(ratio) else f"{ratio:.2f}"


def present_sides(results: dict[str, dict[str, list[float]]]) -> list[str]:
    return [name for name in SIDE_ORDER if name in results]


def render_table(results: dict[str, dict[str, list[float]]]) -> str:
    """Return the main table: each side's figures, Accord/raw with its target, then the other ratios."""
    sides = present_sides(results)
    ratios = [(heading, top, bottom) for heading, top, bottom in RATIOS if top in results and bottom in results]
    headings = ["metric", *sides, ratios[0][0], "target", "result", *(heading for heading, _, _ in ratios[1:])]
    lines = ["| " + " | ".join(headings) + " |", "|" + "---|" * len(headings)]
    for row in ROWS:
        values = {name: results[name].get(row.key, []) for name in sides}
        ratio_texts = [format_ratio(ratio_of_medians(values[top], values[bottom])) for _, top, bottom in ratios]
        accord_ratio = ratio_of_medians(values[ACCORD], values[RAW])
        target_text = verdict = ""
        if row.target is not None:
            operator, bound = row.target
            target_text = f"{operator} {bound:g}x"
            if math.isnan(accord_ratio):
                verdict = "n/a"
            else:
                met = accord_ratio <= bound if operator == "<=" else accord_ratio >= bound
                verdict = "met" if met else "**missed**"
        cells = [
            row.label,
            *(format_figure(values[name], row.decimals) for name in sides),
            ratio_texts[0],
            target_text,
            verdict,
            *ratio_texts[1:],
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def render_workflows(results: dict[str, dict[str, list[float]]]) -> str:
    """Return a table of history events and workflow tasks per unloaded conversation, by workflow."""
    sides = present_sides(results)
    lines = ["| workflow | " + " | ".join(sides) + " |", "|" + "---|" * (len(sides) + 1)]
    for role, label in ROLES:
        for key, what in (("events", "history events"), ("workflow_tasks", "workflow tasks")):
            cells = [format_figure(results[name].get(f"{role}_{key}", []), 1) for name in sides]
            lines.append(f"| {label}: {what} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def render_timeline(results: dict[str, dict[str, list[float]]]) -> str:
    """Return the steps of the hand-over to the child workflow and back, for the sides that have one."""
    sides = [name for name in (ACCORD_SUBFLOW, RAW_CHILD) if name in results]
    lines = ["| step, p50 (ms) | " + " | ".join(sides) + " |", "|" + "---|" * (len(sides) + 1)]
    for step, label in TIMELINE_STEPS:
        cells = [format_figure(results[name].get(f"timeline_{step}_p50_ms", []), 1) for name in sides]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


EVENT_TYPE_DIFFERENCES = (
    ("Accord - raw", ACCORD, RAW),
    ("subflow - Accord", ACCORD_SUBFLOW, ACCORD),
    ("raw child - raw", RAW_CHILD, RAW),
)


def render_event_types(counts: dict[str, Counter[str]], conversations: dict[str, int]) -> str:
    """Return a table of history events per conversation by type, over all workflows, for every side."""
    sides = [name for name in SIDE_ORDER if name in counts]
    differences = [(heading, a, b) for heading, a, b in EVENT_TYPE_DIFFERENCES if a in counts and b in counts]
    names = sorted(set().union(*(counts[name] for name in sides)))
    headings = ["event type (all workflows)", *sides, *(heading for heading, _, _ in differences)]
    lines = ["| " + " | ".join(headings) + " |", "|" + "---|" * len(headings)]
    for event_name in names:
        per_conversation = {name: counts[name][event_name] / max(conversations[name], 1) for name in sides}
        cells = [
            event_name,
            *(f"{per_conversation[name]:.1f}" for name in sides),
            *(f"{per_conversation[a] - per_conversation[b]:+.1f}" for _, a, b in differences),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


# The run.


async def run_until_terminated(settings: Settings) -> int:
    """Run the benchmark. SIGINT and SIGTERM cancel it, so the cleanup that stops the server runs."""
    task = asyncio.current_task()
    assert task is not None
    received: list[signal.Signals] = []

    def stop(signal_number: signal.Signals) -> None:
        received.append(signal_number)
        task.cancel()

    loop = asyncio.get_running_loop()
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signal_number, stop, signal_number)
    try:
        return await run_benchmark(settings)
    except asyncio.CancelledError:
        if not received:
            raise
        logger.warning("Stopped by %s before the run completed", received[0].name)
        return 128 + received[0].value


async def run_benchmark(settings: Settings) -> int:
    network = load_network(settings.network_file)
    with tempfile.TemporaryDirectory(prefix="accord-bench-") as workdir:
        server = DevServer(Path(workdir))
        logger.info(
            "Starting the Temporal dev server on %s (metrics on port %d)", server.address, server.metrics_port
        )
        try:
            client = await server.start()
            return await run_with_server(settings, network, server, client)
        finally:
            server.stop()
            logger.info("Stopped the Temporal dev server")


async def run_with_server(settings: Settings, network: Any, server: DevServer, client: Client) -> int:
    env = WorkflowEnvironment.from_client(client)
    test_network = TestNetwork(env, network, [settings.initiator, settings.responder])
    initiator_hash = test_network.short_hash(settings.initiator)
    responder_hash = test_network.short_hash(settings.responder)
    raw_queues = [f"raw-{naming.task_queue(initiator_hash)}", f"raw-{naming.task_queue(responder_hash)}"]
    raw_workers = [
        raw.create_raw_worker(
            client,
            queue,
            workflow_runner=sandbox_runner(),
            max_cached_workflows=WORKER_CACHE_SIZE,
            sticky_queue_schedule_to_start_timeout=STICKY_QUEUE_TIMEOUT,
        )
        for queue in raw_queues
    ]
    sides: list[Side] = [
        AccordSide(
            test_network,
            initiator=settings.initiator,
            responder=settings.responder,
            rounds=settings.rounds,
            in_subflow=in_subflow,
        )
        for in_subflow in (False, True)
    ]
    sides += [
        RawSide(
            client,
            initiator_queue=raw_queues[0],
            responder_queue=raw_queues[1],
            rounds=settings.rounds,
            batched=settings.raw_messages == "batched",
            in_child=in_child,
        )
        for in_child in ((False, True) if settings.raw_child else (False,))
    ]
    results: dict[str, dict[str, list[float]]] = {side.name: {} for side in sides}
    event_counts: dict[str, Counter[str]] = {side.name: Counter() for side in sides}
    counted: dict[str, int] = {side.name: 0 for side in sides}
    session = f"{int(time.time())}"
    async with test_network:
        for worker in raw_workers:
            await worker.__aenter__()
        try:
            for repeat in range(1, settings.repeats + 1):
                for side in sides:
                    label = f"bench-{session}-{side.slug}-{repeat}"
                    started = time.perf_counter()
                    unloaded, counts = await measure_unloaded(side, client, server, settings, label)
                    loaded = await measure_loaded(
                        side, client, server, settings, label, unloaded.pop("transitions_counter")
                    )
                    event_counts[side.name].update(counts)
                    counted[side.name] += settings.unloaded
                    for key, value in {**unloaded, **loaded}.items():
                        results[side.name].setdefault(key, []).append(value)
                    logger.info(
                        "Repeat %d/%d %s in %.0f s: round trip p50 %.1f ms, %.1f state transitions and %.1f "
                        "workflow tasks per conversation, %.2f conversations/s",
                        repeat,
                        settings.repeats,
                        side.name,
                        time.perf_counter() - started,
                        unloaded["round_trip_p50_ms"],
                        unloaded["state_transitions"],
                        unloaded["workflow_tasks"],
                        loaded["conversations_per_s"],
                    )
        except ConversationFailure as failure:
            print(f"A conversation failed, so the benchmark stopped:\n{failure}", file=sys.stderr)
            return 1
        finally:
            await asyncio.gather(*(worker.__aexit__(None, None, None) for worker in raw_workers))

    print(describe_run(settings))
    print()
    print(render_table(results))
    print()
    print("History events and workflow tasks per unloaded conversation, by workflow:")
    print()
    print(render_workflows(results))
    print()
    print("Hand-over to the child workflow and back, unloaded:")
    print()
    print(render_timeline(results))
    print()
    print("History events per unloaded conversation, by type (all repeats):")
    print()
    print(render_event_types(event_counts, counted))
    if settings.json_file is not None:
        report = {"settings": settings_dict(settings), "results": results}
        settings.json_file.write_text(json.dumps(report, indent=2))
        logger.info("Wrote the figures of every repeat to %s", settings.json_file)
    return 0


def settings_dict(settings: Settings) -> dict[str, Any]:
    return {key: str(value) if isinstance(value, Path) else value for key, value in vars(settings).items()}


def describe_run(settings: Settings) -> str:
    return (
        f"Conversation benchmark: {settings.initiator} -> {settings.responder}, {settings.rounds} round trips; "
        f"medians [min-max] of {settings.repeats} interleaved repeats. Unloaded: {settings.unloaded} conversations "
        f"one at a time after {settings.warmup} warm-up. Loaded: {settings.loaded} conversations, "
        f"{settings.in_flight} in flight. Raw messages: {settings.raw_messages}. "
        f"'subflow' is Accord with every round in a subflow (in_subflow = rounds)"
        + (", 'raw child' raw Temporal with every round in a child workflow." if settings.raw_child else ".")
    )


def parse_args(argv: Sequence[str] | None) -> Settings:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.conversation",
        description=(
            "Measure Accord's ConversationFlow, at the top level and held in a subflow, against raw Temporal "
            "doing the same hops, on a Temporal dev server this script starts on loopback and stops at the end."
        ),
    )
    parser.add_argument("--rounds", type=int, default=10, help="round trips per conversation (default 10)")
    parser.add_argument(
        "--warmup", type=int, default=2, help="unmeasured conversations before each unloaded phase (default 2)"
    )
    parser.add_argument(
        "--unloaded", type=int, default=10, help="conversations measured one at a time (default 10)"
    )
    parser.add_argument(
        "--in-flight", type=int, default=40, help="conversations kept running in the loaded phase (default 40)"
    )
    parser.add_argument(
        "--loaded",
        type=int,
        default=80,
        help=(
            "conversations run in the loaded phase; must be more than --in-flight, and throughput counts the "
            "first (loaded - in-flight) completions (default 80, twice --in-flight)"
        ),
    )
    parser.add_argument(
        "--repeats", type=int, default=3, help="interleaved repeats of every side's runs (default 3)"
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=120.0,
        help="seconds one conversation may take before it counts as stuck (default 120)",
    )
    parser.add_argument(
        "--raw-messages",
        choices=("batched", "separate"),
        default="batched",
        help=(
            "how the raw side groups messages: 'batched' sends the round count and the first number in the start "
            "signal and the close with the last reply, as Accord's sessions do; 'separate' sends one signal per "
            "message (default batched)"
        ),
    )
    parser.add_argument(
        "--raw-child",
        action="store_true",
        help=(
            "also measure raw Temporal with every round held in a child workflow, to compare Accord's subflow "
            "with Temporal's own child-workflow cost (a fourth side, so about a third more run time)"
        ),
    )
    parser.add_argument(
        "--network",
        type=Path,
        dest="network_file",
        default=DEFAULT_NETWORK,
        help="static network file (default: the test network)",
    )
    parser.add_argument(
        "--initiator", default="Alice", help="vnode running the initiator, by common name (default Alice)"
    )
    parser.add_argument(
        "--responder", default="Bob", help="vnode running the responder, by common name (default Bob)"
    )
    parser.add_argument(
        "--json", type=Path, dest="json_file", help="also write the figures of every repeat to this JSON file"
    )
    args = parser.parse_args(argv)

    for name in ("rounds", "unloaded", "in_flight", "repeats"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1, got {getattr(args, name)}")
    if args.warmup < 0:
        parser.error(f"--warmup must be 0 or more, got {args.warmup}")
    if args.loaded <= args.in_flight:
        parser.error(f"--loaded ({args.loaded}) must be more than --in-flight ({args.in_flight}) to measure throughput")
    return Settings(**vars(args))


def main(argv: Sequence[str] | None = None) -> int:
    settings = parse_args(argv)
    # Accord's workers log every flow's start and end at INFO, so only this script's progress is shown at INFO.
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    logger.setLevel(logging.INFO)
    return asyncio.run(run_until_terminated(settings))


if __name__ == "__main__":
    sys.exit(main())
