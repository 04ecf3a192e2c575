"""Start-flow checks: REST validation of the hash, the ID, the class and the body, and idempotent starts.

Cases (a) to (g) follow the field report on Corda's REST start validation:
unknown vnode, unknown class, responder class, malformed JSON, missing
clientRequestId, requestBody as object or as string, and a body that lacks
a field the flow needs.
"""

from __future__ import annotations

import asyncio
import json

import pytest
from temporalio.testing import WorkflowEnvironment

from app.api.models import StartFlowParameters
from tests.conftest import ALICE, BOB
from tests.rest.conftest import (
    API,
    ECHO_FLOW,
    ECHO_RESPONDER,
    ENDED_STATUSES,
    SLEEP_FLOW,
    RestFlows,
    eventually,
    new_request_id,
)
from workflows import naming

pytestmark = pytest.mark.devserver


async def assert_no_flow(rest_flows: RestFlows, vnode: str, client_request_id: str) -> None:
    response = await rest_flows.api.get(f"{API}/flow/{rest_flows.short_hash(vnode)}/{client_request_id}")
    assert response.status_code == 404, response.text


async def test_start_on_unknown_vnode_is_404(rest_flows: RestFlows) -> None:
    body = {"clientRequestId": new_request_id(), "flowClassName": ECHO_FLOW, "requestBody": {}}

    response = await rest_flows.api.post(f"{API}/flow/000000000000", json=body)

    assert response.status_code == 404
    assert "000000000000" in response.json()["title"]
    assert response.json()["details"] == {"holdingIdentityShortHash": "000000000000"}


async def test_status_on_unknown_vnode_is_404(rest_flows: RestFlows) -> None:
    status = await rest_flows.api.get(f"{API}/flow/000000000000/{new_request_id()}")
    listing = await rest_flows.api.get(f"{API}/flow/000000000000")

    assert status.status_code == 404
    assert "000000000000" in status.json()["title"]
    assert listing.status_code == 404


async def test_start_of_unknown_class_is_400(rest_flows: RestFlows) -> None:
    client_request_id = new_request_id()

    response = await rest_flows.start(ALICE, "com.example.DoesNotExist", client_request_id=client_request_id)

    body = response.json()
    assert response.status_code == 400
    assert "'com.example.DoesNotExist'" in body["title"]
    assert "is not a flow in the virtual node's CorDapps" in body["title"]
    assert ECHO_FLOW in body["details"]["startableFlows"].split(", ")
    await assert_no_flow(rest_flows, ALICE, client_request_id)


async def test_start_of_responder_class_is_400(rest_flows: RestFlows) -> None:
    client_request_id = new_request_id()

    response = await rest_flows.start(ALICE, ECHO_RESPONDER, client_request_id=client_request_id)

    assert response.status_code == 400
    assert f"'{ECHO_RESPONDER}'" in response.json()["title"]
    assert "is a responder flow" in response.json()["title"]
    await assert_no_flow(rest_flows, ALICE, client_request_id)


async def test_start_with_malformed_json_is_400(rest_flows: RestFlows) -> None:
    response = await rest_flows.api.post(
        f"{API}/flow/{rest_flows.short_hash(ALICE)}",
        content=b"{oops",
        headers={"Content-Type": "application/json"},
    )

    assert response.status_code == 400
    assert response.json()["title"].startswith("Request body is not valid JSON")
    assert response.json()["status"] == 400


async def test_start_without_client_request_id_is_400(rest_flows: RestFlows) -> None:
    body = {"flowClassName": ECHO_FLOW, "requestBody": {"counterparty": BOB}}

    response = await rest_flows.api.post(f"{API}/flow/{rest_flows.short_hash(ALICE)}", json=body)

    assert response.status_code == 400
    assert response.json()["title"] == "Missing field clientRequestId in the request body; add it and resend"
    assert response.json()["details"] == {"body.clientRequestId": "Field required"}


async def test_object_and_string_bodies_match(rest_flows: RestFlows) -> None:
    request_body = {"counterparty": BOB, "message": "same either way"}
    as_object = await rest_flows.started(ALICE, ECHO_FLOW, request_body)
    as_string = await rest_flows.started(ALICE, ECHO_FLOW, json.dumps(request_body))

    object_status = await rest_flows.wait_for(ALICE, as_object, ENDED_STATUSES)
    string_status = await rest_flows.wait_for(ALICE, as_string, ENDED_STATUSES)

    assert object_status["flowStatus"] == "COMPLETED"
    assert string_status["flowStatus"] == "COMPLETED"
    assert object_status["flowResult"] == string_status["flowResult"]


def test_request_body_forms_give_same_text() -> None:
    as_object = StartFlowParameters(
        client_request_id="a", flow_class_name="f", request_body={"counterparty": BOB, "amounts": [1, 2.5]}
    )
    as_string = StartFlowParameters(
        client_request_id="a",
        flow_class_name="f",
        request_body='{ "counterparty" : "%s", "amounts" : [1, 2.5] }' % BOB,
    )

    assert as_object.request_body_text == as_string.request_body_text
    assert as_object.request_body_text == '{"counterparty":"%s","amounts":[1,2.5]}' % BOB


async def test_missing_field_fails_flow_naming_it(rest_flows: RestFlows) -> None:
    client_request_id = await rest_flows.started(ALICE, ECHO_FLOW, {"message": "hi"})

    final = await rest_flows.wait_for(ALICE, client_request_id, ENDED_STATUSES)

    assert final["flowStatus"] == "FAILED"
    assert "counterparty" in final["flowError"]["message"]


async def test_non_json_body_string_is_400(rest_flows: RestFlows) -> None:
    client_request_id = new_request_id()

    response = await rest_flows.start(ALICE, ECHO_FLOW, "{oops", client_request_id=client_request_id)

    assert response.status_code == 400
    assert response.json()["title"].startswith("Invalid requestBody: the string '{oops' is not JSON")
    assert "body.requestBody" in response.json()["details"]
    await assert_no_flow(rest_flows, ALICE, client_request_id)


async def test_request_body_over_size_limit_is_400(rest_flows: RestFlows) -> None:
    client_request_id = new_request_id()

    response = await rest_flows.start(
        ALICE, ECHO_FLOW, {"counterparty": BOB, "message": "x" * 2_100_000}, client_request_id=client_request_id
    )

    assert response.status_code == 400
    assert "over the limit of" in response.json()["title"]
    await assert_no_flow(rest_flows, ALICE, client_request_id)


@pytest.mark.parametrize(
    ("content", "content_type"),
    [(b"[]", "application/json"), (b'"text"', "application/json"), (b'{"a": 1}', "text/plain")],
    ids=["array", "string", "not-json-content-type"],
)
async def test_body_that_is_not_json_object_is_400(rest_flows: RestFlows, content: bytes, content_type: str) -> None:
    response = await rest_flows.api.post(
        f"{API}/flow/{rest_flows.short_hash(ALICE)}", content=content, headers={"Content-Type": content_type}
    )

    assert response.status_code == 400
    assert response.json()["title"].startswith("Request body must be a JSON object")


async def test_unknown_body_field_is_400(rest_flows: RestFlows) -> None:
    body = {"clientRequestId": new_request_id(), "flowClassName": ECHO_FLOW, "requestbody": {}}

    response = await rest_flows.api.post(f"{API}/flow/{rest_flows.short_hash(ALICE)}", json=body)

    assert response.status_code == 400
    assert response.json()["title"].startswith("Unknown field requestbody in the request body")


@pytest.mark.parametrize("short_hash", ["ZZZ", "16DDABE74CEFA", "16DDABE74CE", "16DDABE74CEG"])
async def test_malformed_short_hash_is_400(rest_flows: RestFlows, short_hash: str) -> None:
    body = {"clientRequestId": new_request_id(), "flowClassName": ECHO_FLOW, "requestBody": {}}

    response = await rest_flows.api.post(f"{API}/flow/{short_hash}", json=body)

    assert response.status_code == 400
    assert response.json()["title"].startswith(f"Invalid holding identity short hash '{short_hash}'")


async def test_lower_case_short_hash_is_accepted(rest_flows: RestFlows) -> None:
    body = {"clientRequestId": new_request_id(), "flowClassName": ECHO_FLOW, "requestBody": {"counterparty": BOB}}

    response = await rest_flows.api.post(f"{API}/flow/{rest_flows.short_hash(ALICE).lower()}", json=body)

    assert response.status_code == 202
    assert response.json()["holdingIdentityShortHash"] == rest_flows.short_hash(ALICE)


@pytest.mark.parametrize(
    "client_request_id", ["has space", "", "x" * 243, "slash/inside", "é"], ids=["space", "empty", "243", "slash", "é"]
)
async def test_malformed_client_request_id_is_400(rest_flows: RestFlows, client_request_id: str) -> None:
    body = {"clientRequestId": client_request_id, "flowClassName": ECHO_FLOW, "requestBody": {}}

    response = await rest_flows.api.post(f"{API}/flow/{rest_flows.short_hash(ALICE)}", json=body)

    assert response.status_code == 400
    assert response.json()["title"].startswith("Invalid clientRequestId")


async def test_longest_client_request_id_is_accepted(rest_flows: RestFlows) -> None:
    client_request_id = new_request_id().ljust(242, "x")

    response = await rest_flows.start(ALICE, ECHO_FLOW, {"counterparty": BOB}, client_request_id=client_request_id)

    assert response.status_code == 202


async def test_responder_suffix_in_client_request_id_is_400(rest_flows: RestFlows) -> None:
    client_request_id = f"{new_request_id()}{naming.RESPONDER_SUFFIX}"

    response = await rest_flows.start(ALICE, ECHO_FLOW, {"counterparty": BOB}, client_request_id=client_request_id)

    assert response.status_code == 400
    assert "reserved for the IDs of responder flows" in response.json()["title"]
    await assert_no_flow(rest_flows, ALICE, client_request_id)


async def test_duplicate_of_running_flow_is_409(rest_flows: RestFlows) -> None:
    client_request_id = await rest_flows.started(ALICE, SLEEP_FLOW)

    response = await rest_flows.start(ALICE, SLEEP_FLOW, client_request_id=client_request_id)

    assert response.status_code == 409
    assert f"'{client_request_id}'" in response.json()["title"]


async def test_duplicate_of_ended_flow_is_409(rest_flows: RestFlows) -> None:
    client_request_id = await rest_flows.started(ALICE, ECHO_FLOW, {"counterparty": BOB})
    await rest_flows.wait_for(ALICE, client_request_id, ENDED_STATUSES)

    response = await rest_flows.start(ALICE, ECHO_FLOW, {"counterparty": BOB}, client_request_id=client_request_id)
    status = await rest_flows.status(ALICE, client_request_id)

    assert response.status_code == 409
    assert status["flowStatus"] == "COMPLETED"


async def test_client_request_id_reusable_on_other_vnode(rest_flows: RestFlows) -> None:
    client_request_id = await rest_flows.started(ALICE, SLEEP_FLOW)

    response = await rest_flows.start(BOB, SLEEP_FLOW, client_request_id=client_request_id)

    assert response.status_code == 202


async def test_concurrent_identical_starts_run_one_flow(rest_flows: RestFlows, dev_env: WorkflowEnvironment) -> None:
    client_request_id = new_request_id()
    workflow_id = f"{rest_flows.short_hash(ALICE)}/{client_request_id}"

    responses = await asyncio.gather(
        *(
            rest_flows.start(ALICE, ECHO_FLOW, {"counterparty": BOB}, client_request_id=client_request_id)
            for _ in range(10)
        )
    )
    codes = sorted(response.status_code for response in responses)

    async def count_runs() -> int:
        counted = await dev_env.client.count_workflows(f"WorkflowId = '{workflow_id}'")
        return counted.count

    runs = await eventually(count_runs, description=f"{workflow_id} in visibility")

    assert codes == [202] + [409] * 9
    assert runs == 1
