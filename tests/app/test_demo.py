"""The demo's flows and its table, without a running stack."""

from __future__ import annotations

import pytest

from app.demo import DemoNetworkError, DemoOutcome, all_as_expected, demo_flows, format_table
from app.network import load_network
from workflows.membership import StaticNetwork

UI = "http://127.0.0.1:8233"


@pytest.fixture
def default_network() -> StaticNetwork:
    return load_network()


def outcomes_for(network: StaticNetwork) -> list[DemoOutcome]:
    flows = demo_flows(network)
    charlie = str(network.members[2].name)
    tea, sugar, conversation = (
        DemoOutcome(
            flow=flow,
            short_hash="AEFB0671801B",
            client_request_id=f"demo-{flow.slug}-1",
            workflow_url=f"{UI}/x/{flow.slug}",
        )
        for flow in flows
    )
    tea.status = "COMPLETED"
    tea.result = '{"item":"tea","quotes":[],"best":{"supplier":"' + charlie + '","item":"tea","price":10}}'
    sugar.status = "FAILED"
    sugar.error = f"Counterparty {charlie} failed on session 0123456789abcdef0123: Charlie does not sell 'sugar'"
    conversation.status = "RUNNING"
    return [tea, sugar, conversation]


def test_demo_flows_expect_one_failure(default_network: StaticNetwork) -> None:
    flows = demo_flows(default_network)

    assert [flow.expected_status for flow in flows] == ["COMPLETED", "FAILED", "COMPLETED"]
    assert [flow.initiator.common_name for flow in flows] == ["Alice", "Alice", "Alice"]
    assert flows[1].request_body["item"] == "sugar"
    assert flows[2].request_body["rounds"] == 10


def test_demo_flows_need_charlie(default_network: StaticNetwork) -> None:
    without_charlie = default_network.model_copy(
        update={"members": [member for member in default_network.members if member.name.common_name != "Charlie"]}
    )

    with pytest.raises(DemoNetworkError, match="needs a member with CN=Charlie"):
        demo_flows(without_charlie)


def test_table_rows_and_count(default_network: StaticNetwork) -> None:
    outcomes = outcomes_for(default_network)

    lines = format_table(outcomes, default_network).splitlines()

    header = ["Flow", "VNode", "clientRequestId", "Status", "Result", "or", "error", "Temporal", "Web", "UI"]
    assert lines[0].split() == header
    assert set(lines[1]) == {"-", " "}
    assert "COMPLETED" in lines[2]
    assert f"{UI}/x/quotes-tea" in lines[2]
    assert lines[3].split() == ["subflow", "CollectQuotesSubFlow", f"{UI}/x/quotes-tea%2Fsub%2F1"]
    assert "FAILED (expected)" in lines[4]
    assert "RUNNING (expected COMPLETED)" in lines[6]
    assert lines[7].split()[:2] == ["subflow", "ContinueConversationSubFlow"]
    assert lines[8] == "Demo: 2 of 3 flows ended as expected"
    assert not all_as_expected(outcomes)


def test_table_shortens_middle_and_names(default_network: StaticNetwork) -> None:
    outcomes = outcomes_for(default_network)

    table = format_table(outcomes, default_network)

    assert "CN=Charlie" not in table
    assert "Counterparty Charlie failed" in table
    assert "does not sell 'sugar'" in table
    assert '"price":10}}' in table
    assert "..." in table
