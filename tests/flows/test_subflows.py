"""Subflows as child workflows: lent sessions, hand-over races, exceptions, initiating subflows, cancellation."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import pytest
from temporalio.client import WorkflowExecutionStatus

from app.testing import TestNetwork
from tests.conftest import BOB, CHARLIE

SUBFLOWS = "tests.cordapps.subflows"


async def test_lent_session_keeps_sequence_across_subflow(flow_network: TestNetwork) -> None:
    status = await flow_network.run_flow(
        "Alice", f"{SUBFLOWS}.HandOverFlow", {"counterparty": BOB, "before": 2, "inside": 3, "after": 2}
    )

    assert status.flow_status == "COMPLETED"
    assert json.loads(status.flow_result) == [
        "echo before0",
        "echo before1",
        "echo inside0",
        "echo inside1",
        "echo inside2",
        "echo after0",
        "echo after1",
    ]


async def test_subflow_runs_as_child_workflow(flow_network: TestNetwork) -> None:
    status = await flow_network.run_flow("Alice", f"{SUBFLOWS}.HandOverFlow", {"counterparty": BOB})

    child = await flow_network.env.client.get_workflow_handle(f"{status.workflow_id}/sub/1").describe()
    assert child.workflow_type == f"{SUBFLOWS}.ExchangeSubFlow"
    assert child.status == WorkflowExecutionStatus.COMPLETED
    assert child.parent_id == status.workflow_id
    view = await flow_network.sessions(f"{status.workflow_id}/sub/1")
    assert view.flow_id == status.flow_id


async def test_subflow_exception_reaches_parent_as_own_class(flow_network: TestNetwork) -> None:
    status = await flow_network.run_flow(
        "Alice", f"{SUBFLOWS}.HandOverFlow", {"counterparty": BOB, "inside": 1, "fail_inside": True}
    )

    assert status.flow_status == "COMPLETED"
    replies = json.loads(status.flow_result)
    assert replies[1] == "caught QuoteRejected: rejected after ['echo inside0']"
    assert replies[-1] == "echo after0", "the session came back usable after the failure"


async def test_unloadable_exception_becomes_corda_runtime_exception(flow_network: TestNetwork) -> None:
    status = await flow_network.run_flow(
        "Alice", f"{SUBFLOWS}.HandOverFlow", {"counterparty": BOB, "inside": 1, "local_error": True}
    )

    assert status.flow_status == "COMPLETED"
    caught = json.loads(status.flow_result)[1]
    assert caught.startswith("caught CordaRuntimeException: ")
    assert "LocalError: raised by a class the parent cannot load" in caught


async def test_in_flight_reply_and_bounced_reply_are_delivered(flow_network: TestNetwork) -> None:
    status = await flow_network.run_flow("Alice", f"{SUBFLOWS}.ReceiveInSubFlowFlow", {"counterparty": BOB})

    assert status.flow_status == "COMPLETED"
    assert json.loads(status.flow_result) == ["echo ping", "echo from child", "again from child"]


async def test_initiating_subflows_open_and_close_own_sessions(flow_network: TestNetwork) -> None:
    status = await flow_network.run_flow("Alice", f"{SUBFLOWS}.AskEachFlow", {"counterparties": [BOB, CHARLIE]})

    assert status.flow_status == "COMPLETED"
    assert json.loads(status.flow_result) == ["Bob got hello", "Charlie got hello"]
    for index in (1, 2):
        child_id = f"{status.workflow_id}/sub/{index}"
        [responder_id] = await flow_network.responder_ids(child_id)
        assert (await flow_network.status(responder_id)).flow_status == "COMPLETED"


async def test_failing_initiating_subflow_errors_its_session(flow_network: TestNetwork) -> None:
    status = await flow_network.run_flow("Alice", f"{SUBFLOWS}.AskAndFailFlow", {"counterparty": BOB})

    assert status.flow_status == "COMPLETED"
    assert status.flow_result == "caught: subflow gave up after Bob got fail"
    [responder_id] = await flow_network.responder_ids(f"{status.workflow_id}/sub/1")
    responder = await flow_network.wait(flow_network.env.client.get_workflow_handle(responder_id))
    assert responder.flow_status == "COMPLETED", "the responder had finished before the error arrived"


async def test_only_initiating_frame_opens_sessions(flow_network: TestNetwork) -> None:
    status = await flow_network.run_flow("Alice", f"{SUBFLOWS}.NestedOpenFlow", {"counterparty": BOB})

    assert status.flow_status == "FAILED"
    assert "OpenSessionSubFlow cannot open a session" in status.flow_error.message


async def test_responder_calls_initiating_subflow(flow_network: TestNetwork) -> None:
    status = await flow_network.run_flow("Alice", f"{SUBFLOWS}.RelayFlow", {"counterparties": [BOB, CHARLIE]})

    assert status.flow_status == "COMPLETED"
    assert status.flow_result == "relay: Charlie got relayed"


async def test_context_properties_scope_and_renaming(flow_network: TestNetwork) -> None:
    status = await flow_network.run_flow("Alice", f"{SUBFLOWS}.ContextFlow", {"counterparty": BOB})

    assert status.flow_status == "COMPLETED"
    seen = json.loads(status.flow_result)
    assert seen["subflow"] == {"user.key": "parent", "corda.client.id": status.client_request_id}
    assert seen["parent_after_subflow"] is None
    assert seen["initiator_session"]["session.key"] == "builder"
    assert "late.key" not in seen["initiator_session"]
    responder_flow = seen["responder"]["flow"]
    assert responder_flow["user.key"] == "parent"
    assert responder_flow["session.key"] == "builder"
    assert responder_flow["corda.initiator.client.id"] == status.client_request_id
    assert responder_flow["corda.client.id"].endswith("-INITIATED")
    assert responder_flow["corda.account"] == "account-zero"
    responder_session = seen["responder"]["session"]
    assert responder_session["corda.initiator.client.id"] == status.client_request_id
    assert "corda.client.id" not in responder_session


async def test_context_builder_cannot_set_platform_keys(flow_network: TestNetwork) -> None:
    status = await flow_network.run_flow(
        "Alice", f"{SUBFLOWS}.ContextFlow", {"counterparty": BOB, "builder_key": "Corda.hack"}
    )

    assert status.flow_status == "FAILED"
    assert "Cannot put 'Corda.hack': keys starting with 'corda.' are reserved" in status.flow_error.message
    assert await flow_network.responder_ids(status.workflow_id) == []


@pytest.mark.devserver
async def test_killed_parent_cancels_subflow_and_errors_sessions(dev_network: TestNetwork) -> None:
    handle = await dev_network.start_flow("Alice", f"{SUBFLOWS}.SilentInSubFlowFlow", {"counterparty": BOB})
    child_id = f"{handle.id}/sub/1"
    for _ in range(200):
        try:
            if "waiting for messages" in (await dev_network.sessions(child_id)).step:
                break
        except Exception:  # noqa: BLE001 - the child may not exist yet
            pass
        await asyncio.sleep(0.05)

    await handle.cancel()

    assert (await dev_network.wait(handle)).flow_status == "KILLED"
    child = await dev_network.env.client.get_workflow_handle(child_id).describe()
    assert child.status == WorkflowExecutionStatus.CANCELED, "the child ended before its parent"
    [responder_id] = await dev_network.responder_ids(handle.id)
    responder = await dev_network.wait(dev_network.env.client.get_workflow_handle(responder_id))
    assert responder.flow_status == "FAILED"
    assert "The counterparty flow was killed" in responder.flow_error.message


async def test_external_operation_retries_with_one_key(flow_network: TestNetwork, tmp_path) -> None:
    status = await flow_network.run_flow(
        "Alice", f"{SUBFLOWS}.OperationFlow", {"folder": str(tmp_path), "fail_times": 2}, timeout=timedelta(seconds=60)
    )

    assert status.flow_status == "COMPLETED"
    assert status.flow_result == "3 6"
    calls = [json.loads(line) for line in (tmp_path / "calls.jsonl").read_text().splitlines()]
    assert [call["attempt"] for call in calls] == [1, 2, 3]
    assert {call["key"] for call in calls} == {f"{status.workflow_id}/op/1"}


async def test_external_operation_business_error_is_not_retried(flow_network: TestNetwork, tmp_path) -> None:
    status = await flow_network.run_flow("Alice", f"{SUBFLOWS}.OperationFlow", {"folder": str(tmp_path), "reject": True})

    assert status.flow_status == "FAILED"
    assert "tests.cordapps.operations.record_call failed: the ledger service rejected the request" in (
        status.flow_error.message
    )
    assert len((tmp_path / "calls.jsonl").read_text().splitlines()) == 1


async def test_external_operation_failing_every_attempt_fails_flow(flow_network: TestNetwork, tmp_path) -> None:
    status = await flow_network.run_flow(
        "Alice",
        f"{SUBFLOWS}.OperationFlow",
        {"folder": str(tmp_path), "fail_times": 5, "maximum_attempts": 2},
    )

    assert status.flow_status == "FAILED"
    assert "failed after its retries" in status.flow_error.message
    assert "service unavailable on attempt 2" in status.flow_error.message


async def test_undeclared_external_operation_fails_flow(flow_network: TestNetwork, tmp_path) -> None:
    status = await flow_network.run_flow(
        "Alice", f"{SUBFLOWS}.OperationFlow", {"folder": str(tmp_path), "operation": "os.remove"}
    )

    assert status.flow_status == "FAILED"
    assert "External operation 'os.remove' is not declared by the CorDapps of" in status.flow_error.message


async def test_transcript_shows_route_message_and_each_message_once(flow_network: TestNetwork) -> None:
    status = await flow_network.run_flow("Alice", f"{SUBFLOWS}.ReceiveInSubFlowFlow", {"counterparty": BOB})

    transcript = await flow_network.transcript(status.workflow_id)

    # Bounced messages may arrive out of order; the transcript keeps arrival order, so compare by sequence.
    sent = sorted((entry.seq, entry.kind, entry.payload) for entry in transcript if entry.direction == "sent")
    received = sorted(
        (entry.seq, entry.kind, entry.payload) for entry in transcript if entry.direction == "received"
    )
    assert sent == [
        (1, "init", None),
        (2, "data", "ping"),
        (3, "route", None),
        (4, "data", "from child"),
        (5, "route", None),
        (6, "data", "stop"),
    ]
    assert received == [
        (1, "data", "echo ping"),
        (2, "data", "echo from child"),
        (3, "data", "again from child"),
        (4, "close", None),
    ]
    routes = [entry.workflow_id for entry in transcript if entry.kind == "route"]
    assert routes == [f"{status.workflow_id}/sub/1", f"{status.workflow_id}/sub/3"], "only subflows that receive first"


async def test_failed_subflow_errors_its_session_and_parent_recovers(flow_network: TestNetwork) -> None:
    status = await flow_network.run_flow("Alice", f"{SUBFLOWS}.RecoveringParentFlow", {"counterparty": BOB})

    assert status.flow_status == "COMPLETED"
    assert status.flow_result == "recovered"
    [first_responder] = await flow_network.responder_ids(f"{status.workflow_id}/sub/1")
    first = await flow_network.wait(flow_network.env.client.get_workflow_handle(first_responder))
    assert first.flow_status == "FAILED"
    assert "sub failed" in first.flow_error.message
    [second_responder] = await flow_network.responder_ids(status.workflow_id)
    assert (await flow_network.status(second_responder)).flow_status == "COMPLETED"


async def test_uncaught_subflow_failure_fails_parent(flow_network: TestNetwork) -> None:
    status = await flow_network.run_flow(
        "Alice", f"{SUBFLOWS}.RecoveringParentFlow", {"counterparty": BOB, "catch": False}
    )

    assert status.flow_status == "FAILED"
    assert status.flow_error.message == "sub failed"


async def test_error_from_responders_subflow_reaches_initiator(flow_network: TestNetwork) -> None:
    status = await flow_network.run_flow(
        "Alice", f"{SUBFLOWS}.RelayFlow", {"counterparties": [BOB, CHARLIE], "message": "no"}
    )

    assert status.flow_status == "FAILED"
    assert "charlie says no" in status.flow_error.message
    assert "Counterparty CN=Bob" in status.flow_error.message
