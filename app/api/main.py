"""The REST API application: Corda 5's flow REST API served by FastAPI.

Routes are served under ``/api/v5_2`` and, as an alias, under ``/api/v1``.
``accord api`` and ``accord dev`` serve the app that :func:`create_app` builds.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI
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

    app = FastAPI(title="Accord flow REST API", description=_DESCRIPTION, version="5.2", lifespan=lifespan)
    app.state.context = context
    install_error_handlers(app)
    router = api_router()
    for prefix in (API_PREFIX, *ALIAS_PREFIXES):
        app.include_router(router, prefix=prefix)
    return app


def api_router() -> APIRouter:
    """Return the routes of every resource, without a version prefix."""
    router = APIRouter()
    router.include_router(flows.router)
    router.include_router(flowclasses.router)
    router.include_router(vnodes.router)
    router.include_router(members.router)
    return router
