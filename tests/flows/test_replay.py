"""Replay of recorded sample histories against the current code: a change that breaks running flows fails here.

The histories in tests/histories were recorded by ``python -m tests.histories.record``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer
from temporalio.workflow import NondeterminismError

from app.worker import sandbox_runner
from workflows.registry import FlowRegistry

HISTORIES = sorted((Path(__file__).parent.parent / "histories").glob("*.json"))
SAMPLES = ["cordapps.quotes", "cordapps.conversation"]


def replayer(*modules: str) -> Replayer:
    return Replayer(
        workflows=FlowRegistry.load([*SAMPLES, *modules]).workflow_classes(),
        data_converter=pydantic_data_converter,
        workflow_runner=sandbox_runner(),
    )


def history_as(path: Path, workflow_type: str | None = None) -> WorkflowHistory:
    recorded = json.loads(path.read_text())
    history = recorded["history"]
    if workflow_type is not None:
        started = history["events"][0]["workflowExecutionStartedEventAttributes"]
        started["workflowType"]["name"] = workflow_type
    return WorkflowHistory.from_json(recorded["workflow_id"], history)


def test_recorded_histories_exist() -> None:
    assert len(HISTORIES) >= 10


@pytest.mark.parametrize("path", HISTORIES, ids=lambda path: path.stem)
async def test_sample_history_replays_on_current_code(path: Path) -> None:
    await replayer().replay_workflow(history_as(path))


async def test_unguarded_change_breaks_replay() -> None:
    history = history_as(HISTORIES_BY_NAME["conversation-0"], "tests.cordapps.changed.UnguardedConversationFlow")

    with pytest.raises(NondeterminismError):
        await replayer("tests.cordapps.changed").replay_workflow(history)


async def test_change_behind_patched_replays() -> None:
    history = history_as(HISTORIES_BY_NAME["conversation-0"], "tests.cordapps.changed.GuardedConversationFlow")

    await replayer("tests.cordapps.changed").replay_workflow(history)


HISTORIES_BY_NAME = {path.stem: path for path in HISTORIES}
