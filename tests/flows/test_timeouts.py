"""Session timeouts and durable sleep in virtual time: each test has its own time-skipping server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest_asyncio
from temporalio.api.enums.v1 import EventType

from app.testing import TestNetwork, start_time_skipping
from tests.conftest import BOB
from workflows.membership import StaticNetwork

INITIATORS = "tests.cordapps.initiators"


@pytest_asyncio.fixture
async def fresh_network(network: StaticNetwork) -> AsyncIterator[TestNetwork]:
    env = await start_time_skipping()
    async with env, TestNetwork(env, network, ["Alice", "Bob"]) as test_network:
        yield test_network


async def virtual_duration(network: TestNetwork, workflow_id: str) -> timedelta:
    description = await network.env.client.get_workflow_handle(workflow_id).describe()
    assert description.close_time is not None and description.start_time is not None
    return description.close_time - description.start_time


async def fired_timers(network: TestNetwork, workflow_id: str) -> int:
    history = await network.env.client.get_workflow_handle(workflow_id).fetch_history()
    return sum(event.event_type == EventType.EVENT_TYPE_TIMER_FIRED for event in history.events)


async def test_silent_counterparty_fails_both_flows_at_timeout(fresh_network: TestNetwork) -> None:
    status = await fresh_network.run_flow(
        "Alice", f"{INITIATORS}.AskSilentFlow", {"counterparty": BOB, "timeout_seconds": 600}
    )

    assert status.flow_status == "FAILED"
    assert "timed out: no message received for 600 s" in status.flow_error.message
    assert BOB in status.flow_error.message
    assert await virtual_duration(fresh_network, status.workflow_id) >= timedelta(seconds=600)
    assert await fired_timers(fresh_network, status.workflow_id) == 1
    [responder_id] = await fresh_network.responder_ids(status.workflow_id)
    responder = await fresh_network.wait(fresh_network.env.client.get_workflow_handle(responder_id))
    assert responder.flow_status == "FAILED"


async def test_both_sides_receiving_fail_at_session_timeout(fresh_network: TestNetwork) -> None:
    status = await fresh_network.run_flow(
        "Alice", f"{INITIATORS}.ReceiveFirstFlow", {"counterparty": BOB, "timeout_seconds": 300}
    )

    assert status.flow_status == "FAILED"
    assert "timed out" in status.flow_error.message
    [responder_id] = await fresh_network.responder_ids(status.workflow_id)
    responder = await fresh_network.wait(fresh_network.env.client.get_workflow_handle(responder_id))
    assert responder.flow_status == "FAILED"
    assert await virtual_duration(fresh_network, responder_id) <= timedelta(seconds=301)


async def test_network_session_timeout_applies_by_default(fresh_network: TestNetwork) -> None:
    status = await fresh_network.run_flow("Alice", f"{INITIATORS}.AskSilentFlow", {"counterparty": BOB})

    assert status.flow_status == "FAILED"
    timeout = fresh_network.network.session_timeout_seconds
    assert f"no message received for {timeout:g} s" in status.flow_error.message
    assert await virtual_duration(fresh_network, status.workflow_id) >= timedelta(seconds=timeout)


async def test_durable_sleep_passes_in_virtual_time(fresh_network: TestNetwork) -> None:
    status = await fresh_network.run_flow("Alice", f"{INITIATORS}.SleepFlow", {})

    assert status.flow_status == "COMPLETED"
    assert status.flow_result == "slept on Alice"
    assert await virtual_duration(fresh_network, status.workflow_id) >= timedelta(hours=2)


async def test_conversation_keeps_one_deadline_timer(fresh_network: TestNetwork) -> None:
    status = await fresh_network.run_flow(
        "Alice", "cordapps.conversation.ConversationFlow", {"counterparty": BOB, "rounds": 5}
    )

    assert status.flow_status == "COMPLETED"
    history = await fresh_network.env.client.get_workflow_handle(status.workflow_id).fetch_history()
    started = sum(event.event_type == EventType.EVENT_TYPE_TIMER_STARTED for event in history.events)
    assert started == 1
