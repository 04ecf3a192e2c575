"""The sample CorDapps, as the demo runs them, on both servers."""

from __future__ import annotations

import json

from app.testing import TestNetwork
from tests.conftest import BOB, CHARLIE


async def test_quotes_from_two_suppliers_pick_cheapest(flow_network: TestNetwork) -> None:
    status = await flow_network.run_flow(
        "Alice", "cordapps.quotes.RequestQuotesFlow", {"item": "tea", "suppliers": [BOB, CHARLIE]}
    )

    assert status.flow_status == "COMPLETED"
    result = json.loads(status.flow_result)
    assert [quote["price"] for quote in result["quotes"]] == [10, 12]
    assert result["best"]["supplier"] == CHARLIE


async def test_quotes_fail_with_refusing_supplier_message(flow_network: TestNetwork) -> None:
    status = await flow_network.run_flow(
        "Alice", "cordapps.quotes.RequestQuotesFlow", {"item": "sugar", "suppliers": [BOB, CHARLIE]}
    )

    assert status.flow_status == "FAILED"
    assert "Charlie does not sell 'sugar'" in status.flow_error.message


async def test_conversation_counts_up_at_top_level(flow_network: TestNetwork) -> None:
    status = await flow_network.run_flow(
        "Alice", "cordapps.conversation.ConversationFlow", {"counterparty": BOB, "rounds": 6}
    )

    assert status.flow_status == "COMPLETED"
    assert json.loads(status.flow_result)["received"] == [1, 3, 5, 7, 9, 11]


async def test_conversation_continues_inside_subflow(flow_network: TestNetwork) -> None:
    status = await flow_network.run_flow(
        "Alice", "cordapps.conversation.ConversationFlow", {"counterparty": BOB, "rounds": 6, "in_subflow": 4}
    )

    assert status.flow_status == "COMPLETED"
    assert json.loads(status.flow_result)["received"] == [1, 3, 5, 7, 9, 11]
    child = await flow_network.env.client.get_workflow_handle(f"{status.workflow_id}/sub/1").describe()
    assert child.workflow_type == "cordapps.conversation.ContinueConversationSubFlow"
