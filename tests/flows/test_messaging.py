"""Session messaging between flows on both servers: delivery, order, duplicates, negotiation, types, sizes."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from uuid import UUID

from app.testing import TestNetwork
from tests.conftest import ALICE, BOB, CHARLIE
from tests.cordapps.models import Part, RichPayload

INITIATORS = "tests.cordapps.initiators"


async def test_echo_returns_reply_and_both_flows_complete(flow_network: TestNetwork) -> None:
    status = await flow_network.run_flow("Alice", f"{INITIATORS}.EchoFlow", {"counterparty": BOB, "message": "hello"})

    assert status.flow_status == "COMPLETED"
    assert status.flow_result == "hello"
    [responder] = await flow_network.responder_ids(status.workflow_id)
    responder_status = await flow_network.wait(flow_network.env.client.get_workflow_handle(responder))
    assert responder_status.flow_status == "COMPLETED"
    assert responder_status.client_request_id.endswith("-INITIATED")


async def test_burst_arrives_in_order_before_responder_reads(flow_network: TestNetwork) -> None:
    status = await flow_network.run_flow(
        "Alice", f"{INITIATORS}.BurstFlow", {"counterparty": BOB, "count": 20, "responder_delay_seconds": 2}
    )

    assert status.flow_status == "COMPLETED"
    assert status.flow_result == "".join(f"m{index}" for index in range(1, 21))


async def test_interleaved_sessions_keep_their_own_messages(flow_network: TestNetwork) -> None:
    status = await flow_network.run_flow(
        "Alice", f"{INITIATORS}.InterleavedSessionsFlow", {"counterparty": BOB, "count": 5}
    )

    assert status.flow_status == "COMPLETED"
    assert json.loads(status.flow_result) == ["a1a2a3a4a5", "b1b2b3b4b5"]


async def test_send_all_and_receive_all_map_gather_answers(flow_network: TestNetwork) -> None:
    status = await flow_network.run_flow("Alice", f"{INITIATORS}.GatherFlow", {"counterparties": [BOB, ALICE]})

    assert status.flow_status == "COMPLETED"
    assert json.loads(status.flow_result) == {"Bob": 42, "Alice": 42}


async def test_receive_all_fails_with_the_refusing_counterparty(flow_network: TestNetwork) -> None:
    status = await flow_network.run_flow("Alice", f"{INITIATORS}.GatherFlow", {"counterparties": [BOB, CHARLIE]})

    assert status.flow_status == "FAILED"
    assert "Charlie does not give out numbers" in status.flow_error.message
    assert "CN=Charlie" in status.flow_error.message


async def test_session_to_self_runs_responder_on_same_vnode(flow_network: TestNetwork) -> None:
    status = await flow_network.run_flow("Alice", f"{INITIATORS}.EchoFlow", {"counterparty": ALICE, "message": "me"})

    assert status.flow_status == "COMPLETED"
    assert status.flow_result == "me"
    [responder] = await flow_network.responder_ids(status.workflow_id)
    assert responder.startswith(f"{flow_network.short_hash('Alice')}/")


async def test_negotiation_picks_highest_common_version(flow_network: TestNetwork) -> None:
    status = await flow_network.run_flow("Alice", f"{INITIATORS}.NegotiateFlow", {"counterparty": BOB})

    assert status.flow_status == "COMPLETED"
    assert json.loads(status.flow_result) == {"protocol": "test.versions", "version": 2, "responder_version": 2}


async def test_negotiation_without_common_version_fails_promptly(flow_network: TestNetwork) -> None:
    status = await flow_network.run_flow(
        "Alice", f"{INITIATORS}.NegotiateFlow", {"counterparty": CHARLIE}, timeout=timedelta(seconds=20)
    )

    assert status.flow_status == "FAILED"
    assert "No common version of protocol 'test.versions'" in status.flow_error.message
    assert "the initiator supports 1, 2, 3, the responder 4, 5" in status.flow_error.message


async def test_unregistered_responder_fails_naming_protocol_and_vnode(flow_network: TestNetwork) -> None:
    status = await flow_network.run_flow(
        "Alice", f"{INITIATORS}.UnansweredFlow", {"counterparty": BOB}, timeout=timedelta(seconds=20)
    )

    assert status.flow_status == "FAILED"
    assert "No responder is registered for protocol 'test.unanswered'" in status.flow_error.message
    assert BOB in status.flow_error.message


async def test_unknown_counterparty_fails_at_first_send(flow_network: TestNetwork) -> None:
    nobody = "CN=Nobody, O=Nowhere, L=London, C=GB"
    status = await flow_network.run_flow("Alice", f"{INITIATORS}.EchoFlow", {"counterparty": nobody})

    assert status.flow_status == "FAILED"
    assert f"{nobody} is not a member of this network" in status.flow_error.message
    assert await flow_network.sessions(status.workflow_id) is not None


async def test_receive_of_wrong_type_names_both_types(flow_network: TestNetwork) -> None:
    status = await flow_network.run_flow("Alice", f"{INITIATORS}.SendOfferFlow", {"counterparty": BOB})

    assert status.flow_status == "FAILED"
    assert "Counterparty CN=Bob" in status.flow_error.message
    assert "Expected to receive tests.cordapps.models.Invoice but received tests.cordapps.models.Offer" in (
        status.flow_error.message
    )
    [responder] = await flow_network.responder_ids(status.workflow_id)
    responder_status = await flow_network.status(responder)
    assert responder_status.flow_status == "FAILED"
    assert "tests.cordapps.models.Invoice" in responder_status.flow_error.message


async def test_oversized_payload_fails_send_naming_its_size(flow_network: TestNetwork) -> None:
    status = await flow_network.run_flow(
        "Alice", f"{INITIATORS}.SendSizedFlow", {"counterparty": BOB, "size": 2 * 1024 * 1024}
    )

    assert status.flow_status == "FAILED"
    assert "bytes encoded, over the limit of" in status.flow_error.message
    assert await flow_network.responder_ids(status.workflow_id) == [], "no responder may start"


async def test_large_payload_under_limit_is_delivered(flow_network: TestNetwork) -> None:
    status = await flow_network.run_flow(
        "Alice", f"{INITIATORS}.SendSizedFlow", {"counterparty": BOB, "size": 1_500_000}
    )

    assert status.flow_status == "COMPLETED"
    assert status.flow_result == "1500000"


async def test_unserialisable_payload_fails_naming_type(flow_network: TestNetwork) -> None:
    status = await flow_network.run_flow("Alice", f"{INITIATORS}.SendOpaqueFlow", {"counterparty": BOB, "size": 1})

    assert status.flow_status == "FAILED"
    assert "Cannot serialise a payload of type tests.cordapps.initiators.Opaque" in status.flow_error.message


async def test_rich_payload_round_trips_exactly(flow_network: TestNetwork) -> None:
    payload = RichPayload(
        when=datetime(2026, 12, 4, 9, 30, tzinfo=timezone(timedelta(hours=5, minutes=30))),
        amount=Decimal("0.10000000000000000001"),
        reference=UUID("12345678-1234-5678-1234-567812345678"),
        blob=b"\x00\xff binary",
        tags={"a", "b"},
        count=7,
        text="plain",
        part=Part(label="bolt", weight=Decimal("1.50")),
    )
    status = await flow_network.run_flow(
        "Alice", f"{INITIATORS}.RichPayloadFlow", {"counterparty": BOB, "message": payload.model_dump_json()}
    )

    assert status.flow_status == "COMPLETED"
    assert status.flow_result == "equal"


async def test_transcript_lists_each_side_of_echo(flow_network: TestNetwork) -> None:
    status = await flow_network.run_flow("Alice", f"{INITIATORS}.EchoFlow", {"counterparty": BOB, "message": "hi"})
    [responder_id] = await flow_network.responder_ids(status.workflow_id)

    initiator = await flow_network.transcript(status.workflow_id)
    responder = await flow_network.transcript(responder_id)

    assert [(e.direction, e.kind, e.payload) for e in initiator] == [
        ("sent", "init", None),
        ("sent", "data", "hi"),
        ("received", "data", "hi"),
        ("received", "close", None),
    ]
    assert [(e.direction, e.kind, e.payload) for e in responder] == [
        ("received", "init", None),
        ("received", "data", "hi"),
        ("sent", "data", "hi"),
        ("sent", "close", None),
    ]
