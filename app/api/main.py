"""The REST API application: Corda 5's flow REST API served by FastAPI.

Routes are served under ``/api/v5_2`` and, as an alias, under ``/api/v1``.
``accord api`` and ``accord dev`` serve the app that :func:`create_app` builds.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path
from temporalio.client import Client

from app.api.deps import ApiContext
from app.api.errors import install_error_handlers
from app.api.routes import flowclasses, flows, members, vnodes
from app.settings import Settings
from workflows.membership import StaticNetwork

logger = logging.getLogger(__name__)

API_PREFIX = "/api/v5_2"
ALIAS_PREFIXES = ("/api/v1",)

_DESCRIPTION = """
Start Corda 5-style flows on the virtual nodes of a static network and read
their status. Each flow runs as a durable Temporal workflow with the ID
`<holdingIdentityShortHash>/<clientRequestId>`; its status is read from
Temporal on every request, and `workflowUrl` opens it in the Temporal Web UI.

Every error has the body `{"title": str, "status": int, "details": {str: str}}`.
"""


def create_app(settings: Settings, network: StaticNetwork, *, client: Client | None = None) -> FastAPI:
    """Build the REST API for a network.

    Args:
        settings: Temporal address and namespace, and the Temporal Web UI address for flow links.
        network: The static network whose vnodes the API serves.
        client: A connected Temporal client with the pydantic data converter.
            None makes the app connect its own at startup, from ``settings``.

    Raises:
        FlowRegistrationError: A vnode's CorDapps define invalid flows.
    """
    context = ApiContext.build(settings, network, client)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await context.temporal.open()
        logger.info("REST API serves %d virtual nodes of network group %s", len(context.vnodes), network.group_id)
        try:
            yield
        finally:
            context.temporal.close()

    # FastAPI's own docs pages load Swagger UI from a CDN; these serve it from the installed package.
    app = FastAPI(
        title="Accord flow REST API",
        description=_DESCRIPTION,
        version="5.2",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.context = context
    install_error_handlers(app)
    install_docs(app)
    router = api_router()
    for prefix in (API_PREFIX, *ALIAS_PREFIXES):
        app.include_router(router, prefix=prefix)
    return app


DOCS_ASSETS = "/docs-assets"


def install_docs(app: FastAPI) -> None:
    """Serve the interactive API docs at ``/docs`` with Swagger UI from the swagger-ui-bundle package."""
    app.mount(DOCS_ASSETS, StaticFiles(directory=str(swagger_ui_path)), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title} - Swagger UI",
            swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{DOCS_ASSETS}/favicon-32x32.png",
        )


def api_router() -> APIRouter:
    """Return the routes of every resource, without a version prefix."""
    router = APIRouter()
    router.include_router(flows.router)
    router.include_router(flowclasses.router)
    router.include_router(vnodes.router)
    router.include_router(members.router)
    return router
