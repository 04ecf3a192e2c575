"""Figures the conversation benchmark reads: server counters, process CPU time, and workflow histories.

- State transitions are the server's ``persistence_requests`` counter for the
  operations that write a workflow's mutable state, read from the dev
  server's Prometheus endpoint.
- Round trips are read from the history of the workflow that runs the
  rounds (the initiator, or the child workflow it hands the rounds to):
  from the event that records an outbound signal
  (``SignalExternalWorkflowExecutionInitiated``) to the next
  ``WorkflowExecutionSignaled`` event, which carries the reply. Both event
  times are set by the server, so the worker's clock plays no part, and
  times taken from the histories of different workflows compare directly.
"""

from __future__ import annotations

import json
import math
import os
import re
import statistics
import urllib.request
from collections import Counter
from collections.abc import Iterable, Sequence

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent

STATE_TRANSITION_OPERATIONS = frozenset(
    {
        "CreateWorkflowExecution",
        "UpdateWorkflowExecution",
        "ConflictResolveWorkflowExecution",
        "SetWorkflowExecution",
    }
)

_SAMPLE_LINE = re.compile(r"^persistence_requests\{(?P<labels>[^}]*)\}\s+(?P<value>\S+)$")
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def read_state_transitions(metrics_url: str, namespace: str) -> float:
    """Return the server's count of mutable-state writes in ``namespace`` since it started.

    Raises:
        RuntimeError: The metrics endpoint has no ``persistence_requests``
            samples for the namespace, so the counter cannot be read.
    """
    with urllib.request.urlopen(metrics_url, timeout=10) as response:
        text = response.read().decode()
    total = 0.0
    matched = False
    for line in text.splitlines():
        sample = _SAMPLE_LINE.match(line)
        if sample is None:
            continue
        labels = dict(_LABEL.findall(sample["labels"]))
        if labels.get("namespace") != namespace:
            continue
        matched = True
        if labels.get("operation") in STATE_TRANSITION_OPERATIONS:
            total += float(sample["value"])
    if not matched:
        raise RuntimeError(
            f"No persistence_requests samples for namespace {namespace!r} at {metrics_url}; "
            "check that the server exposes Prometheus metrics on that port"
        )
    return total


def process_cpu_seconds(pid: int | None = None) -> float:
    """Return the user plus system CPU time of a process (this one by default), from ``/proc``."""
    if pid is None:
        times = os.times()
        return times.user + times.system
    with open(f"/proc/{pid}/stat") as stat_file:
        # The command name in field 2 may contain spaces; the fields after its closing bracket do not.
        fields = stat_file.read().rsplit(")", 1)[1].split()
    ticks_per_second = os.sysconf("SC_CLK_TCK")
    user_ticks, system_ticks = int(fields[11]), int(fields[12])
    return (user_ticks + system_ticks) / ticks_per_second


def event_type_name(event: HistoryEvent) -> str:
    return EventType.Name(event.event_type).removeprefix("EVENT_TYPE_")


def event_ms(event: HistoryEvent) -> float:
    return event.event_time.ToNanoseconds() / 1e6


def count_workflow_tasks(events: Sequence[HistoryEvent]) -> int:
    return sum(1 for event in events if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)


def count_event_types(events: Iterable[HistoryEvent]) -> Counter[str]:
    return Counter(event_type_name(event) for event in events)


def workflow_task_durations_ms(events: Sequence[HistoryEvent]) -> list[float]:
    """Return how long the worker held each workflow task, from its started to its completed event, in ms."""
    durations: list[float] = []
    started_at: float | None = None
    for event in events:
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED:
            started_at = event_ms(event)
        elif event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED and started_at is not None:
            durations.append(event_ms(event) - started_at)
            started_at = None
    return durations


def signal_round_trips_ms(events: Sequence[HistoryEvent]) -> list[float]:
    """Return a workflow's signal round trips: each outbound signal to the next inbound one, in ms.

    Both sides send strictly in turn, so the first signal received after a
    signal was sent is its reply. Round trips opened by something other than
    a signal (an activity carrying the first message) are not counted.
    """
    round_trips: list[float] = []
    sent_at: float | None = None
    for event in events:
        if event.event_type == EventType.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED:
            sent_at = event_ms(event)
        elif event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED and sent_at is not None:
            round_trips.append(event_ms(event) - sent_at)
            sent_at = None
    return round_trips


def _signal_times_ms(histories: Iterable[Sequence[HistoryEvent]]) -> list[float]:
    return sorted(
        event_ms(event)
        for events in histories
        for event in events
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED
    )


def _first_event(events: Sequence[HistoryEvent], event_type: int) -> HistoryEvent | None:
    return next((event for event in events if event.event_type == event_type), None)


def opening_ms(
    initiator_events: Sequence[HistoryEvent], child_histories: Sequence[Sequence[HistoryEvent]] = ()
) -> float | None:
    """Return the time from the initiator's start to the first signal it or one of its children receives, in ms."""
    received = _signal_times_ms([initiator_events, *child_histories])
    if not received:
        return None
    return received[0] - event_ms(initiator_events[0])


def closing_ms(
    initiator_events: Sequence[HistoryEvent], child_histories: Sequence[Sequence[HistoryEvent]] = ()
) -> float | None:
    """Return the time from the last signal the initiator or its children receive to the initiator's close, in ms."""
    received = _signal_times_ms([initiator_events, *child_histories])
    completed = _first_event(initiator_events, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED)
    if not received or completed is None:
        return None
    return event_ms(completed) - received[-1]


def child_workflow_ids(parent_events: Sequence[HistoryEvent]) -> list[str]:
    """Return the IDs of the child workflows a workflow started, in start order."""
    return [
        event.start_child_workflow_execution_initiated_event_attributes.workflow_id
        for event in parent_events
        if event.event_type == EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED
    ]


def child_timeline_ms(parent_events: Sequence[HistoryEvent], child_events: Sequence[HistoryEvent]) -> dict[str, float]:
    """Return the steps of handing a conversation to a child workflow and back, in ms.

    Keys, each the time between two server-stamped events:

    - ``init_activity``: the parent's start to its first completed activity
      (the one that starts the responder);
    - ``start_request``: that activity's completion to the parent's
      ``StartChildWorkflowExecutionInitiated``;
    - ``child_dispatch``: that request to the child's first ``WorkflowTaskStarted``;
    - ``child_first_task``: the child's first workflow task, started to completed;
    - ``first_round_trip``: the child's first outbound signal to the first signal it receives;
    - ``child_close``: the last signal the child receives to its ``WorkflowExecutionCompleted``;
    - ``hand_back``: the child's completion to the parent's ``WorkflowExecutionCompleted``.

    A step whose events are missing from the histories is left out.
    """
    steps: dict[str, float] = {}
    parent_started = event_ms(parent_events[0])
    activity_done = _first_event(parent_events, EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED)
    child_requested = _first_event(parent_events, EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED)
    parent_done = _first_event(parent_events, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED)
    task_started = _first_event(child_events, EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED)
    task_completed = _first_event(child_events, EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)
    child_done = _first_event(child_events, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED)
    received = _signal_times_ms([child_events])
    round_trips = signal_round_trips_ms(child_events)

    if activity_done is not None:
        steps["init_activity"] = event_ms(activity_done) - parent_started
        if child_requested is not None:
            steps["start_request"] = event_ms(child_requested) - event_ms(activity_done)
    if child_requested is not None and task_started is not None:
        steps["child_dispatch"] = event_ms(task_started) - event_ms(child_requested)
    if task_started is not None and task_completed is not None:
        steps["child_first_task"] = event_ms(task_completed) - event_ms(task_started)
    if round_trips:
        steps["first_round_trip"] = round_trips[0]
    if received and child_done is not None:
        steps["child_close"] = event_ms(child_done) - received[-1]
    if child_done is not None and parent_done is not None:
        steps["hand_back"] = event_ms(parent_done) - event_ms(child_done)
    return steps


def responder_workflow_id(initiator_events: Sequence[HistoryEvent]) -> str | None:
    """Return the responder workflow ID from the result of the activity that started it.

    Accord's session-initiation activity and the raw harness's activity both
    return a JSON object with a ``responder_workflow_id`` field.
    """
    for event in initiator_events:
        if event.event_type != EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
            continue
        for payload in event.activity_task_completed_event_attributes.result.payloads:
            try:
                value = json.loads(payload.data)
            except ValueError:
                continue
            if isinstance(value, dict) and value.get("responder_workflow_id"):
                return str(value["responder_workflow_id"])
    return None


def percentile(values: Sequence[float], fraction: float) -> float:
    """Return a percentile (``fraction`` in 0..1) with linear interpolation between ranks; NaN if empty."""
    if not values:
        return math.nan
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    lower = math.floor(position)
    upper = min(lower + 1, len(ordered) - 1)
    return ordered[lower] + (ordered[upper] - ordered[lower]) * (position - lower)


def median(values: Sequence[float]) -> float:
    finite = [value for value in values if not math.isnan(value)]
    return statistics.median(finite) if finite else math.nan
