"""Fixtures for the REST tests: the API app on the session's dev server, with the test network's workers running.

Requests go through ``httpx.ASGITransport``, which does not run the app's
lifespan, so the app is given the dev server's client.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI
from temporalio.testing import WorkflowEnvironment

from app.api.main import create_app
from app.settings import Settings
from app.testing import TestNetwork
from workflows.membership import StaticNetwork

T = TypeVar("T")

API = "/api/v5_2"
PREFIXES = ("/api/v5_2", "/api/v1")
NOTARY = "CN=NotaryRep1, OU=Test Dept, O=R3, L=London, C=GB"

ECHO_FLOW = "tests.cordapps.initiators.EchoFlow"
FAILING_FLOW = "tests.cordapps.initiators.FailingFlow"
SLEEP_FLOW = "tests.cordapps.initiators.SleepFlow"
GATHER_FLOW = "tests.cordapps.initiators.GatherFlow"
ECHO_RESPONDER = "tests.cordapps.responders.EchoResponder"

ENDED_STATUSES = {"COMPLETED", "FAILED", "KILLED"}
WAIT_SECONDS = 20.0
"""Upper bound for a test flow to end or for visibility to catch up; on the dev server each takes about a second."""


def new_request_id() -> str:
    """Return a clientRequestId no other test uses."""
    return f"rest-{uuid.uuid4()}"


async def eventually(check: Callable[[], Awaitable[T | None]], *, description: str, timeout: float = WAIT_SECONDS) -> T:
    """Poll ``check`` every 100 ms until it returns a truthy value, failing the test after ``timeout`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = await check()
        if result:
            return result
        if loop.time() > deadline:
            pytest.fail(f"Timed out after {timeout} s waiting for {description}")
        await asyncio.sleep(0.1)


class RestFlows:
    """Starts flows and reads their statuses through the REST API under test."""

    def __init__(self, api: httpx.AsyncClient, network: StaticNetwork) -> None:
        self.api = api
        self.network = network

    def short_hash(self, name: str) -> str:
        return self.network.short_hash(name)

    async def start(
        self,
        vnode: str,
        flow_class_name: str,
        request_body: Any = None,
        *,
        client_request_id: str | None = None,
        prefix: str = API,
    ) -> httpx.Response:
        body = {
            "clientRequestId": client_request_id or new_request_id(),
            "flowClassName": flow_class_name,
            "requestBody": {} if request_body is None else request_body,
        }
        return await self.api.post(f"{prefix}/flow/{self.short_hash(vnode)}", json=body)

    async def started(self, vnode: str, flow_class_name: str, request_body: Any = None) -> str:
        """Start a flow, check that the API accepted it, and return its clientRequestId."""
        client_request_id = new_request_id()
        response = await self.start(vnode, flow_class_name, request_body, client_request_id=client_request_id)
        assert response.status_code == 202, response.text
        return client_request_id

    async def status(self, vnode: str, client_request_id: str) -> dict[str, Any]:
        response = await self.api.get(f"{API}/flow/{self.short_hash(vnode)}/{client_request_id}")
        assert response.status_code == 200, response.text
        return response.json()

    async def wait_for(self, vnode: str, client_request_id: str, statuses: set[str]) -> dict[str, Any]:
        """Poll a flow's status until it is one of ``statuses``, and return it."""

        async def reached() -> dict[str, Any] | None:
            status = await self.status(vnode, client_request_id)
            return status if status["flowStatus"] in statuses else None

        return await eventually(reached, description=f"flow {client_request_id} on {vnode} to reach {sorted(statuses)}")

    async def listed(self, vnode: str, workflow_id: str, status_filter: str | None = None) -> dict[str, Any]:
        """Poll the vnode's flow list, optionally filtered, until the flow appears, and return its entry."""
        params = {"status": status_filter} if status_filter else {}

        async def find() -> dict[str, Any] | None:
            response = await self.api.get(f"{API}/flow/{self.short_hash(vnode)}", params=params)
            assert response.status_code == 200, response.text
            entries = response.json()["flowStatusResponses"]
            return next((entry for entry in entries if entry["workflowId"] == workflow_id), None)

        description = f"{workflow_id} in the flow list of {vnode} with status={status_filter}"
        return await eventually(find, description=description)

    async def list_ids(self, vnode: str, status_filter: str) -> set[str]:
        response = await self.api.get(f"{API}/flow/{self.short_hash(vnode)}", params={"status": status_filter})
        assert response.status_code == 200, response.text
        return {entry["workflowId"] for entry in response.json()["flowStatusResponses"]}


@pytest.fixture(scope="session")
def rest_settings(dev_env: WorkflowEnvironment) -> Settings:
    return Settings(
        temporal_address=dev_env.client.service_client.config.target_host,
        temporal_namespace=dev_env.client.namespace,
    )


@pytest.fixture(scope="session")
def rest_app(rest_settings: Settings, network: StaticNetwork, dev_env: WorkflowEnvironment) -> FastAPI:
    return create_app(rest_settings, network, client=dev_env.client)


@pytest_asyncio.fixture
async def api(rest_app: FastAPI, dev_network: TestNetwork) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client of the API, with every vnode's worker running."""
    transport = httpx.ASGITransport(app=rest_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


@pytest.fixture
def rest_flows(api: httpx.AsyncClient, network: StaticNetwork) -> RestFlows:
    return RestFlows(api, network)

