"""Session close and error paths of Corda 5.1+, and how flow failures end flows, on both servers."""

from __future__ import annotations

from temporalio.api.enums.v1 import EventType

from app.testing import TestNetwork
from tests.conftest import BOB

INITIATORS = "tests.cordapps.initiators"


async def responder_status(network: TestNetwork, workflow_id: str):
    [responder] = await network.responder_ids(workflow_id)
    return await network.wait(network.env.client.get_workflow_handle(responder))


async def test_close_waits_then_second_close_is_noop(flow_network: TestNetwork) -> None:
    status = await flow_network.run_flow("Alice", f"{INITIATORS}.CloseFlow", {"counterparty": BOB, "close_twice": True})

    assert status.flow_status == "COMPLETED"
    assert status.flow_result == "reply to hi"
    assert (await responder_status(flow_network, status.workflow_id)).flow_status == "COMPLETED"


async def test_send_after_close_fails_naming_closed_session(flow_network: TestNetwork) -> None:
    status = await flow_network.run_flow(
        "Alice", f"{INITIATORS}.CloseFlow", {"counterparty": BOB, "close_twice": True, "send_after_close": True}
    )

    assert status.flow_status == "FAILED"
    assert "Cannot send session" in status.flow_error.message
    assert "with CN=Bob, OU=Test Dept, O=R3, L=London, C=GB: the session is closed" in status.flow_error.message
    assert (await responder_status(flow_network, status.workflow_id)).flow_status == "COMPLETED"


async def test_send_after_close_can_be_caught(flow_network: TestNetwork) -> None:
    status = await flow_network.run_flow(
        "Alice",
        f"{INITIATORS}.CloseFlow",
        {"counterparty": BOB, "send_after_close": True, "catch_send_after_close": True},
    )

    assert status.flow_status == "COMPLETED"
    assert status.flow_result == "caught"


async def test_receive_after_responder_ended_fails_promptly(flow_network: TestNetwork) -> None:
    status = await flow_network.run_flow(
        "Alice", f"{INITIATORS}.CloseFlow", {"counterparty": BOB, "receive_after_reply": True}
    )

    assert status.flow_status == "FAILED"
    assert "was closed by the counterparty while this flow waited to receive str" in status.flow_error.message


async def test_responder_ending_with_unread_data_errors_both_sides(flow_network: TestNetwork) -> None:
    status = await flow_network.run_flow("Alice", f"{INITIATORS}.UnreadAtCloseFlow", {"counterparty": BOB})

    assert status.flow_status == "FAILED"
    assert "closed with unread messages" in status.flow_error.message
    responder = await responder_status(flow_network, status.workflow_id)
    assert responder.flow_status == "FAILED"
    assert "closed with unread messages" in responder.flow_error.message


async def test_initiator_ending_with_unread_reply_fails(flow_network: TestNetwork) -> None:
    status = await flow_network.run_flow("Alice", f"{INITIATORS}.EndWithUnreadReplyFlow", {"counterparty": BOB})

    assert status.flow_status == "FAILED"
    assert "Failed to close session" in status.flow_error.message
    assert "closed with unread messages" in status.flow_error.message


async def test_counterparty_flow_error_reaches_initiator_with_message(flow_network: TestNetwork) -> None:
    status = await flow_network.run_flow(
        "Alice", f"{INITIATORS}.ThrowFlow", {"counterparty": BOB, "message": "limit exceeded: 500 > 100"}
    )

    assert status.flow_status == "FAILED"
    assert "limit exceeded: 500 > 100" in status.flow_error.message
    assert "Counterparty CN=Bob" in status.flow_error.message


async def test_counterparty_flow_error_can_be_handled(flow_network: TestNetwork) -> None:
    status = await flow_network.run_flow(
        "Alice",
        f"{INITIATORS}.ThrowFlow",
        {"counterparty": BOB, "message": "limit exceeded: 500 > 100", "catch": True},
    )

    assert status.flow_status == "COMPLETED"
    assert status.flow_result.startswith("handled: ")
    assert "limit exceeded: 500 > 100" in status.flow_result


async def test_internal_error_stays_on_failing_node(flow_network: TestNetwork) -> None:
    status = await flow_network.run_flow(
        "Alice", f"{INITIATORS}.ThrowFlow", {"counterparty": BOB, "message": "boom", "internal": True}
    )

    assert status.flow_status == "FAILED"
    assert "ended with an error" in status.flow_error.message
    assert "db-password=xyz" not in status.model_dump_json()
    responder = await responder_status(flow_network, status.workflow_id)
    assert responder.flow_status == "FAILED"
    assert "db-password=xyz" in responder.flow_error.message


async def test_flow_exception_fails_flow_without_retrying(flow_network: TestNetwork) -> None:
    status = await flow_network.run_flow("Alice", f"{INITIATORS}.FailingFlow", {"amount": -1})

    assert status.flow_status == "FAILED"
    assert status.flow_error.type == "FLOW_FAILED"
    assert status.flow_error.message == "amount must be positive"
    history = await flow_network.env.client.get_workflow_handle(status.workflow_id).fetch_history()
    event_types = [event.event_type for event in history.events]
    assert EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED not in event_types
    assert event_types.count(EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED) == 1


async def test_flow_exception_errors_counterparty_session(flow_network: TestNetwork) -> None:
    status = await flow_network.run_flow("Alice", f"{INITIATORS}.FailingFlow", {"amount": -1, "counterparty": BOB})

    assert status.flow_status == "FAILED"
    responder = await responder_status(flow_network, status.workflow_id)
    assert responder.flow_status == "FAILED"
    assert "ended with an error" in responder.flow_error.message
    assert "amount must be positive" not in responder.flow_error.message


async def test_sandbox_violation_fails_with_advice(flow_network: TestNetwork) -> None:
    status = await flow_network.run_flow("Alice", f"{INITIATORS}.ReadClockFlow", {})

    assert status.flow_status == "FAILED"
    assert "datetime.datetime.now" in status.flow_error.message
    assert "move it into an external operation" in status.flow_error.message


async def test_unserialisable_result_fails_naming_type(flow_network: TestNetwork) -> None:
    status = await flow_network.run_flow("Alice", f"{INITIATORS}.UnserialisableResultFlow", {})

    assert status.flow_status == "FAILED"
    assert "result is not serialisable: Opaque" in status.flow_error.message


async def test_initiate_flow_requires_initiating_flow(flow_network: TestNetwork) -> None:
    status = await flow_network.run_flow("Alice", f"{INITIATORS}.OpenWithoutInitiatingFlow", {})

    assert status.flow_status == "FAILED"
    assert "only a flow marked @initiating_flow can" in status.flow_error.message


async def test_invalid_request_body_fails_naming_field(flow_network: TestNetwork) -> None:
    status = await flow_network.run_flow("Alice", f"{INITIATORS}.EchoFlow", {"message": "no counterparty"})

    assert status.flow_status == "FAILED"
    assert "counterparty: Field required" in status.flow_error.message


async def test_services_are_injected(flow_network: TestNetwork) -> None:
    status = await flow_network.run_flow("Alice", f"{INITIATORS}.WhoAmIFlow", {})

    assert status.flow_status == "COMPLETED"
    assert f'"short_hash":"{flow_network.short_hash("Alice")}"' in status.flow_result
    assert f'"flow_id":"{status.flow_id}"' in status.flow_result
    assert '"nobody":null' in status.flow_result


async def test_import_while_running_fails_under_ci_warning_filter(flow_network: TestNetwork) -> None:
    status = await flow_network.run_flow("Alice", f"{INITIATORS}.LateImportFlow", {})

    assert status.flow_status == "FAILED"
    assert "tests.cordapps.lazy_helper was imported after initial workflow load" in status.flow_error.message


async def test_undeclared_service_names_the_declaration(flow_network: TestNetwork) -> None:
    status = await flow_network.run_flow("Alice", f"{INITIATORS}.UndeclaredEngineFlow", {})

    assert status.flow_status == "FAILED"
    assert "add 'flow_engine: FlowEngine' to the class body" in status.flow_error.message
