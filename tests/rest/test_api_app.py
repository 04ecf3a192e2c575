"""The app as a whole: OpenAPI document, error bodies, Temporal outages and the connecting lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
from temporalio.service import RPCError, RPCStatusCode

from app.api.main import create_app
from app.settings import Settings
from tests.conftest import ALICE, BOB
from tests.rest.conftest import API, ECHO_FLOW, PREFIXES, new_request_id
from workflows.membership import StaticNetwork

pytestmark = pytest.mark.devserver

ROUTES = [
    ("post", "/flow/{holdingIdentityShortHash}"),
    ("get", "/flow/{holdingIdentityShortHash}"),
    ("get", "/flow/{holdingIdentityShortHash}/{clientRequestId}"),
    ("get", "/flow/{holdingIdentityShortHash}/{clientRequestId}/result"),
    ("get", "/flowclass/{holdingIdentityShortHash}"),
    ("get", "/virtualnode"),
    ("get", "/virtualnode/{holdingIdentityShortHash}"),
    ("get", "/members/{holdingIdentityShortHash}"),
]


class UnreachableTemporal:
    """Stands in for a Temporal client whose server went away: every call fails as the SDK reports it."""

    namespace = "default"

    def get_workflow_handle(self, workflow_id: str, **kwargs: Any) -> UnreachableTemporal:
        return self

    async def describe(self, **kwargs: Any) -> None:
        raise self._error()

    async def start_workflow(self, *args: Any, **kwargs: Any) -> None:
        raise self._error()

    def list_workflows(self, query: str | None = None, **kwargs: Any) -> AsyncIterator[Any]:
        return self._failing_pages()

    async def _failing_pages(self) -> AsyncIterator[Any]:
        raise self._error()
        yield

    @staticmethod
    def _error() -> RPCError:
        return RPCError("tcp connect error: Connection refused (os error 111)", RPCStatusCode.UNAVAILABLE, b"")


@pytest_asyncio.fixture
async def unreachable_api(network: StaticNetwork) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(temporal_address="127.0.0.1:7233")
    app = create_app(settings, network, client=UnreachableTemporal())  # type: ignore[arg-type]
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


@pytest.mark.parametrize("prefix", PREFIXES)
async def test_openapi_lists_every_route(api: httpx.AsyncClient, prefix: str) -> None:
    response = await api.get("/openapi.json")

    documented = set()
    for path, operations in response.json()["paths"].items():
        if path.startswith(prefix):
            documented |= {(method, path.removeprefix(prefix)) for method in operations}
    assert documented == set(ROUTES)


async def test_openapi_documents_error_body_not_422(api: httpx.AsyncClient) -> None:
    response = await api.get("/openapi.json")

    start = response.json()["paths"][f"{API}/flow/{{holdingIdentityShortHash}}"]["post"]["responses"]
    assert sorted(start) == ["202", "400", "404", "409", "503", "default"]
    assert start["409"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorResponse"}


async def test_docs_page_is_served(api: httpx.AsyncClient) -> None:
    response = await api.get("/docs")

    assert response.status_code == 200
    assert "/docs-assets/swagger-ui-bundle.js" in response.text


async def test_docs_page_loads_nothing_from_other_hosts(api: httpx.AsyncClient) -> None:
    page = (await api.get("/docs")).text
    script = await api.get("/docs-assets/swagger-ui-bundle.js")
    stylesheet = await api.get("/docs-assets/swagger-ui.css")

    assert "https://" not in page
    assert script.status_code == 200
    assert stylesheet.status_code == 200


async def test_unknown_route_has_error_body(api: httpx.AsyncClient) -> None:
    response = await api.get(f"{API}/flows")

    assert response.status_code == 404
    assert response.json()["status"] == 404
    assert response.json()["title"].startswith(f"No route GET {API}/flows")
    assert response.json()["details"] == {}


async def test_wrong_method_has_error_body(api: httpx.AsyncClient) -> None:
    response = await api.delete(f"{API}/virtualnode")

    assert response.status_code == 405
    assert response.json()["title"].startswith(f"Method DELETE is not allowed on {API}/virtualnode")


async def test_start_with_temporal_unreachable_is_503(
    unreachable_api: httpx.AsyncClient, network: StaticNetwork
) -> None:
    body = {"clientRequestId": new_request_id(), "flowClassName": ECHO_FLOW, "requestBody": {"counterparty": BOB}}

    response = await unreachable_api.post(f"{API}/flow/{network.short_hash(ALICE)}", json=body)

    assert response.status_code == 503
    assert response.json()["title"].startswith("Temporal server at 127.0.0.1:7233 is unreachable")


@pytest.mark.parametrize("route", ["/flow/{hash}", "/flow/{hash}/some-id", "/flow/{hash}/some-id/result"])
async def test_reads_with_temporal_unreachable_are_503(
    unreachable_api: httpx.AsyncClient, network: StaticNetwork, route: str
) -> None:
    response = await unreachable_api.get(API + route.format(hash=network.short_hash(ALICE)))

    assert response.status_code == 503
    assert response.json()["details"] == {"temporalAddress": "127.0.0.1:7233"}


async def test_network_routes_work_without_temporal(unreachable_api: httpx.AsyncClient) -> None:
    response = await unreachable_api.get(f"{API}/virtualnode")

    assert response.status_code == 200


async def test_app_without_client_connects_at_startup(rest_settings: Settings, network: StaticNetwork) -> None:
    app = create_app(rest_settings, network)
    transport = httpx.ASGITransport(app=app)

    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            response = await client.get(f"{API}/flow/{network.short_hash(ALICE)}/{new_request_id()}")

    assert response.status_code == 404


async def test_app_starts_while_temporal_is_down(
    rest_settings: Settings, network: StaticNetwork, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def refuse(address: str, namespace: str) -> None:
        raise RuntimeError("Failed client connect: Server connection error: connection refused")

    monkeypatch.setattr("app.api.deps.connect", refuse)
    app = create_app(rest_settings, network)
    transport = httpx.ASGITransport(app=app)

    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            nodes = await client.get(f"{API}/virtualnode")
            flows = await client.get(f"{API}/flow/{network.short_hash(ALICE)}")

    assert nodes.status_code == 200
    assert flows.status_code == 503
    assert "connection refused" in flows.json()["title"]
