"""Cancelling a flow's workflow ends it KILLED and errors its counterparties' sessions."""

from __future__ import annotations

import asyncio

import pytest

from app.testing import TestNetwork
from tests.conftest import BOB
from workflows import naming

pytestmark = pytest.mark.devserver


async def wait_for_step(network: TestNetwork, workflow_id: str, text: str) -> None:
    for _ in range(100):
        view = await network.sessions(workflow_id)
        if text in view.step:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{workflow_id} never reached a step containing {text!r}; last step: {view.step!r}")


async def test_cancelled_flow_ends_killed_and_errors_responder(dev_network: TestNetwork) -> None:
    handle = await dev_network.start_flow(
        "Alice", "tests.cordapps.initiators.AskSilentFlow", {"counterparty": BOB, "timeout_seconds": 600}
    )
    await wait_for_step(dev_network, handle.id, "waiting for messages from")

    await handle.cancel()
    status = await dev_network.wait(handle)

    assert status.flow_status == "KILLED"
    [responder_id] = await dev_network.responder_ids(handle.id)
    responder = await dev_network.wait(dev_network.env.client.get_workflow_handle(responder_id))
    assert responder.flow_status == "FAILED"
    assert "The counterparty flow was killed" in responder.flow_error.message


async def test_terminated_flow_with_kill_reason_is_killed(dev_network: TestNetwork) -> None:
    handle = await dev_network.start_flow("Alice", "tests.cordapps.initiators.SleepFlow", {})
    await wait_for_step(dev_network, handle.id, "sleeping")

    await handle.terminate(reason=naming.KILL_REASON)

    assert (await dev_network.wait(handle)).flow_status == "KILLED"


async def test_terminated_flow_without_kill_reason_is_failed(dev_network: TestNetwork) -> None:
    handle = await dev_network.start_flow("Alice", "tests.cordapps.initiators.SleepFlow", {})
    await wait_for_step(dev_network, handle.id, "sleeping")

    await handle.terminate(reason="operator cleanup")
    status = await dev_network.wait(handle)

    assert status.flow_status == "FAILED"
    assert status.flow_error.message == "Flow terminated: operator cleanup"


async def test_status_query_shows_waiting_step_and_sessions(dev_network: TestNetwork) -> None:
    handle = await dev_network.start_flow(
        "Alice", "tests.cordapps.initiators.AskSilentFlow", {"counterparty": BOB, "timeout_seconds": 600}
    )
    await wait_for_step(dev_network, handle.id, "waiting for messages from")
    for _ in range(100):
        view = await dev_network.sessions(handle.id)
        if view.sessions[0].state != "INITIATING":
            break
        await asyncio.sleep(0.05)

    status = await dev_network.status(handle.id)
    await handle.cancel()

    assert view.step == f"waiting for messages from {BOB}"
    assert [session.state for session in view.sessions] == ["CONFIRMED"]
    assert view.sessions[0].counterparty == BOB
    assert status.flow_status == "RUNNING"
    assert status.flow_id == view.flow_id
