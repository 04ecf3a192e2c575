"""The flow routes end to end: real flows on the dev server, started and read through the REST API."""

from __future__ import annotations

import logging

import pytest
from temporalio.testing import WorkflowEnvironment

from app import flows
from app.testing import TestNetwork
from tests.conftest import ALICE, BOB
from tests.rest.conftest import (
    API,
    ECHO_FLOW,
    ENDED_STATUSES,
    FAILING_FLOW,
    GATHER_FLOW,
    NOTARY,
    PREFIXES,
    SLEEP_FLOW,
    RestFlows,
    new_request_id,
)
from workflows import naming
from workflows.identity import MemberX500Name

pytestmark = pytest.mark.devserver


async def test_start_returns_start_requested(rest_flows: RestFlows) -> None:
    client_request_id = new_request_id()

    response = await rest_flows.start(ALICE, ECHO_FLOW, {"counterparty": BOB}, client_request_id=client_request_id)

    body = response.json()
    assert response.status_code == 202
    assert body["flowStatus"] == "START_REQUESTED"
    assert body["holdingIdentityShortHash"] == rest_flows.short_hash(ALICE)
    assert body["clientRequestId"] == client_request_id
    assert body["flowId"] is None
    assert body["workflowId"] == f"{rest_flows.short_hash(ALICE)}/{client_request_id}"
    assert body["workflowUrl"].endswith(f"/workflows/{rest_flows.short_hash(ALICE)}%2F{client_request_id}")


async def test_start_is_logged_with_flow_context(rest_flows: RestFlows, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="app.api.routes.flows")

    client_request_id = await rest_flows.started(ALICE, SLEEP_FLOW)

    [record] = [record for record in caplog.records if client_request_id in record.getMessage()]
    assert record.name == "app.api.routes.flows"
    assert record.vnode == ALICE
    assert record.session_id == "-"
    status = await rest_flows.wait_for(ALICE, client_request_id, {"RUNNING"})
    assert record.flow_id == status["flowId"]


async def test_echo_flow_goes_from_running_to_completed(rest_flows: RestFlows) -> None:
    client_request_id = await rest_flows.started(ALICE, ECHO_FLOW, {"counterparty": BOB, "message": "hi"})

    first = await rest_flows.status(ALICE, client_request_id)
    final = await rest_flows.wait_for(ALICE, client_request_id, ENDED_STATUSES)

    assert first["flowStatus"] in {"START_REQUESTED", "RUNNING", "COMPLETED"}
    assert final["flowStatus"] == "COMPLETED"
    assert final["flowResult"] == "hi"
    assert final["flowError"] is None
    assert final["flowId"] is not None


async def test_failing_flow_reports_flow_error(rest_flows: RestFlows) -> None:
    client_request_id = await rest_flows.started(ALICE, FAILING_FLOW, {"amount": -1})

    final = await rest_flows.wait_for(ALICE, client_request_id, ENDED_STATUSES)

    assert final["flowStatus"] == "FAILED"
    assert final["flowError"] == {"type": "FLOW_FAILED", "message": "amount must be positive"}
    assert final["flowResult"] is None


async def test_result_is_202_while_flow_runs(rest_flows: RestFlows) -> None:
    client_request_id = await rest_flows.started(ALICE, SLEEP_FLOW)

    response = await rest_flows.api.get(f"{API}/flow/{rest_flows.short_hash(ALICE)}/{client_request_id}/result")

    assert response.status_code == 202
    assert response.json()["flowStatus"] in {"START_REQUESTED", "RUNNING"}
    assert response.json()["json"] is None


async def test_result_embeds_json_result(rest_flows: RestFlows) -> None:
    client_request_id = await rest_flows.started(ALICE, GATHER_FLOW, {"counterparties": [BOB]})
    await rest_flows.wait_for(ALICE, client_request_id, ENDED_STATUSES)

    response = await rest_flows.api.get(f"{API}/flow/{rest_flows.short_hash(ALICE)}/{client_request_id}/result")

    assert response.status_code == 200
    assert response.json()["flowStatus"] == "COMPLETED"
    assert response.json()["json"] == {"Bob": 42}
    assert "flowResult" not in response.json()


async def test_result_keeps_text_that_is_not_json(rest_flows: RestFlows) -> None:
    client_request_id = await rest_flows.started(ALICE, ECHO_FLOW, {"counterparty": BOB, "message": "plain words"})
    await rest_flows.wait_for(ALICE, client_request_id, ENDED_STATUSES)

    response = await rest_flows.api.get(f"{API}/flow/{rest_flows.short_hash(ALICE)}/{client_request_id}/result")

    assert response.status_code == 200
    assert response.json()["json"] == "plain words"


async def test_result_of_failed_flow_has_flow_error(rest_flows: RestFlows) -> None:
    client_request_id = await rest_flows.started(ALICE, FAILING_FLOW, {"amount": -1})
    await rest_flows.wait_for(ALICE, client_request_id, ENDED_STATUSES)

    response = await rest_flows.api.get(f"{API}/flow/{rest_flows.short_hash(ALICE)}/{client_request_id}/result")

    assert response.status_code == 200
    assert response.json()["json"] is None
    assert response.json()["flowError"]["message"] == "amount must be positive"


async def test_unknown_flow_is_404(rest_flows: RestFlows) -> None:
    client_request_id = new_request_id()

    status = await rest_flows.api.get(f"{API}/flow/{rest_flows.short_hash(ALICE)}/{client_request_id}")
    result = await rest_flows.api.get(f"{API}/flow/{rest_flows.short_hash(ALICE)}/{client_request_id}/result")

    assert status.status_code == 404
    assert client_request_id in status.json()["title"]
    assert result.status_code == 404


async def test_malformed_client_request_id_in_path_is_400(rest_flows: RestFlows) -> None:
    response = await rest_flows.api.get(f"{API}/flow/{rest_flows.short_hash(ALICE)}/bad%20id")

    assert response.status_code == 400
    assert "'bad id'" in response.json()["title"]


async def test_list_includes_flow_and_its_responder(
    rest_flows: RestFlows, dev_network: TestNetwork
) -> None:
    client_request_id = await rest_flows.started(ALICE, ECHO_FLOW, {"counterparty": BOB})
    await rest_flows.wait_for(ALICE, client_request_id, ENDED_STATUSES)
    workflow_id = f"{rest_flows.short_hash(ALICE)}/{client_request_id}"
    [responder_id] = await dev_network.responder_ids(workflow_id)
    responder_request_id = responder_id.partition("/")[2]

    initiator = await rest_flows.listed(ALICE, workflow_id)
    responder = await rest_flows.listed(BOB, responder_id)
    responder_status = await rest_flows.status(BOB, responder_request_id)

    assert initiator["flowStatus"] == "COMPLETED"
    assert initiator["flowResult"] == "hi"
    assert responder["clientRequestId"] == responder_request_id
    assert responder_request_id.endswith(naming.RESPONDER_SUFFIX)
    assert responder["flowStatus"] == "COMPLETED"
    assert responder_status["flowStatus"] == "COMPLETED"


async def test_list_of_vnode_without_flows_is_empty(rest_flows: RestFlows) -> None:
    response = await rest_flows.api.get(f"{API}/flow/{rest_flows.short_hash(NOTARY)}", params={"status": "COMPLETED"})

    assert response.status_code == 200
    assert response.json() == {"flowStatusResponses": []}


async def test_status_filter_completed(rest_flows: RestFlows) -> None:
    client_request_id = await rest_flows.started(ALICE, ECHO_FLOW, {"counterparty": BOB})
    await rest_flows.wait_for(ALICE, client_request_id, ENDED_STATUSES)
    workflow_id = f"{rest_flows.short_hash(ALICE)}/{client_request_id}"

    entry = await rest_flows.listed(ALICE, workflow_id, "COMPLETED")
    running = await rest_flows.list_ids(ALICE, "RUNNING")
    failed = await rest_flows.list_ids(ALICE, "FAILED")

    assert entry["flowResult"] == "hi"
    assert workflow_id not in running
    assert workflow_id not in failed


async def test_status_filter_failed(rest_flows: RestFlows) -> None:
    client_request_id = await rest_flows.started(ALICE, FAILING_FLOW, {"amount": -1})
    await rest_flows.wait_for(ALICE, client_request_id, ENDED_STATUSES)
    workflow_id = f"{rest_flows.short_hash(ALICE)}/{client_request_id}"

    entry = await rest_flows.listed(ALICE, workflow_id, "FAILED")
    completed = await rest_flows.list_ids(ALICE, "COMPLETED")

    assert entry["flowError"]["message"] == "amount must be positive"
    assert workflow_id not in completed


async def test_status_filter_running(rest_flows: RestFlows) -> None:
    client_request_id = await rest_flows.started(ALICE, SLEEP_FLOW)
    workflow_id = f"{rest_flows.short_hash(ALICE)}/{client_request_id}"

    entry = await rest_flows.listed(ALICE, workflow_id, "RUNNING")
    start_requested = await rest_flows.list_ids(ALICE, "START_REQUESTED")

    assert entry["flowStatus"] == "RUNNING"
    assert workflow_id not in start_requested


async def test_status_filter_start_requested(rest_flows: RestFlows, dev_env: WorkflowEnvironment) -> None:
    # The notary's vnode runs no flow classes, so its worker never takes the
    # first workflow task and the flow stays START_REQUESTED. The REST start
    # would reject the class, so the flow is started below the API.
    handle = await flows.start_flow(
        dev_env.client,
        rest_flows.network,
        MemberX500Name.parse(NOTARY),
        flow_class_name=SLEEP_FLOW,
        client_request_id=new_request_id(),
        request_body="{}",
    )
    try:
        entry = await rest_flows.listed(NOTARY, handle.id, "START_REQUESTED")
        running = await rest_flows.list_ids(NOTARY, "RUNNING")
    finally:
        await handle.terminate(reason="end of test")

    assert entry["flowStatus"] == "START_REQUESTED"
    assert handle.id not in running


async def test_status_filter_killed_after_cancel(rest_flows: RestFlows, dev_env: WorkflowEnvironment) -> None:
    client_request_id = await rest_flows.started(ALICE, SLEEP_FLOW)
    workflow_id = f"{rest_flows.short_hash(ALICE)}/{client_request_id}"
    await rest_flows.wait_for(ALICE, client_request_id, {"RUNNING"})

    await dev_env.client.get_workflow_handle(workflow_id).cancel()
    final = await rest_flows.wait_for(ALICE, client_request_id, ENDED_STATUSES)
    entry = await rest_flows.listed(ALICE, workflow_id, "KILLED")
    failed = await rest_flows.list_ids(ALICE, "FAILED")

    assert final["flowStatus"] == "KILLED"
    assert entry["flowError"] is None
    assert workflow_id not in failed


async def test_termination_with_kill_reason_is_killed(rest_flows: RestFlows, dev_env: WorkflowEnvironment) -> None:
    client_request_id = await rest_flows.started(ALICE, SLEEP_FLOW)
    workflow_id = f"{rest_flows.short_hash(ALICE)}/{client_request_id}"

    await dev_env.client.get_workflow_handle(workflow_id).terminate(reason=naming.KILL_REASON)
    entry = await rest_flows.listed(ALICE, workflow_id, "KILLED")
    failed = await rest_flows.list_ids(ALICE, "FAILED")

    assert entry["flowStatus"] == "KILLED"
    assert workflow_id not in failed


async def test_termination_for_other_reason_is_failed(rest_flows: RestFlows, dev_env: WorkflowEnvironment) -> None:
    client_request_id = await rest_flows.started(ALICE, SLEEP_FLOW)
    workflow_id = f"{rest_flows.short_hash(ALICE)}/{client_request_id}"

    await dev_env.client.get_workflow_handle(workflow_id).terminate(reason="operator cleanup")
    entry = await rest_flows.listed(ALICE, workflow_id, "FAILED")
    killed = await rest_flows.list_ids(ALICE, "KILLED")

    assert entry["flowError"] == {"type": "FLOW_FAILED", "message": "Flow terminated: operator cleanup"}
    assert workflow_id not in killed


@pytest.mark.parametrize("status_filter", ["RETRYING", "completed", "DONE"])
async def test_unknown_status_filter_is_400(rest_flows: RestFlows, status_filter: str) -> None:
    response = await rest_flows.api.get(f"{API}/flow/{rest_flows.short_hash(ALICE)}", params={"status": status_filter})

    assert response.status_code == 400
    assert response.json()["title"].startswith(f"Invalid status filter '{status_filter}'")


@pytest.mark.parametrize("prefix", PREFIXES)
async def test_every_route_responds_on_prefix(rest_flows: RestFlows, prefix: str) -> None:
    alice = rest_flows.short_hash(ALICE)
    client_request_id = new_request_id()
    started = await rest_flows.start(
        ALICE, ECHO_FLOW, {"counterparty": BOB}, client_request_id=client_request_id, prefix=prefix
    )
    await rest_flows.wait_for(ALICE, client_request_id, ENDED_STATUSES)
    routes = [
        f"{prefix}/flow/{alice}/{client_request_id}",
        f"{prefix}/flow/{alice}/{client_request_id}/result",
        f"{prefix}/flow/{alice}",
        f"{prefix}/flowclass/{alice}",
        f"{prefix}/virtualnode",
        f"{prefix}/virtualnode/{alice}",
        f"{prefix}/members/{alice}",
    ]

    codes = {route: (await rest_flows.api.get(route)).status_code for route in routes}

    assert started.status_code == 202
    assert codes == dict.fromkeys(routes, 200)
