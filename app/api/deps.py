"""Dependencies of the route handlers: the Temporal client, the network, and the vnode a path names.

:func:`app.api.main.create_app` builds one :class:`ApiContext` per app and
keeps it in ``app.state.context``; the dependencies here read it.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Path, Request
from temporalio.client import Client
from temporalio.service import RPCError

from app.api.errors import ApiError, temporal_unavailable
from app.api.models import shorten
from app.settings import Settings
from app.worker import connect
from workflows import naming
from workflows.identity import MemberX500Name
from workflows.membership import NetworkMember, StaticNetwork, VNodeIdentity
from workflows.registry import FlowRegistry

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class VNode:
    """A virtual node of the network, with the flows its CorDapps define."""

    identity: VNodeIdentity
    member: NetworkMember
    registry: FlowRegistry

    @property
    def short_hash(self) -> str:
        return self.identity.short_hash

    @property
    def name(self) -> MemberX500Name:
        return self.identity.name


class TemporalConnection:
    """The API's Temporal client: the one given to the app, or one it connects itself.

    An app given no client connects at startup. When the server is down then,
    the API still starts, serves the routes that need no Temporal, responds with
    503 on the others, and connects at the first request that finds the server up.
    """

    def __init__(self, settings: Settings, client: Client | None = None) -> None:
        self._settings = settings
        self._client = client
        self._opened_here = False
        self._lock = asyncio.Lock()

    async def open(self) -> None:
        """Connect now when the app was given no client; on failure, log it and leave it to the first request."""
        if self._client is not None:
            return
        try:
            await self.client()
        except ApiError as error:
            logger.warning("Starting without Temporal, so flow routes return 503 until it is up: %s", error.title)

    async def client(self) -> Client:
        """Return the client, connecting first if there is none.

        Raises:
            ApiError: 503 when the Temporal server cannot be reached.
        """
        if self._client is not None:
            return self._client
        async with self._lock:
            if self._client is None:
                self._client = await self._connect()
                self._opened_here = True
        return self._client

    def close(self) -> None:
        """Drop a client this object connected; a client given to it stays with its owner."""
        if self._opened_here:
            # temporalio's Client has no close method; dropping it releases its connection.
            self._client = None
            self._opened_here = False

    async def _connect(self) -> Client:
        address = self._settings.temporal_address
        namespace = self._settings.temporal_namespace
        try:
            client = await connect(address, namespace)
        except (RuntimeError, RPCError, OSError) as error:
            raise temporal_unavailable(address, str(error) or type(error).__name__) from error
        logger.info("Connected to Temporal at %s, namespace %s", address, namespace)
        return client


@dataclass
class ApiContext:
    """Shared state of one app's handlers: settings, network, vnodes and the Temporal connection."""

    settings: Settings
    network: StaticNetwork
    vnodes: dict[str, VNode]
    """Every vnode of the network, by upper-case short hash, in the order of the network file."""
    temporal: TemporalConnection

    @classmethod
    def build(cls, settings: Settings, network: StaticNetwork, client: Client | None = None) -> ApiContext:
        """Load every vnode's CorDapps once, for the flow class checks and ``GET /flowclass``.

        Raises:
            FlowRegistrationError: A vnode's CorDapps define invalid flows.
        """
        vnodes: dict[str, VNode] = {}
        for identity in network.vnodes():
            member = network.member(identity.name)
            assert member is not None, "network.vnodes() lists only members"
            vnodes[identity.short_hash] = VNode(identity, member, FlowRegistry.load(member.cordapps))
        return cls(settings, network, vnodes, TemporalConnection(settings, client))


def get_context(request: Request) -> ApiContext:
    return request.app.state.context


ContextDep = Annotated[ApiContext, Depends(get_context)]


def get_settings(context: ContextDep) -> Settings:
    return context.settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


def get_network(context: ContextDep) -> StaticNetwork:
    return context.network


NetworkDep = Annotated[StaticNetwork, Depends(get_network)]


async def get_temporal_client(context: ContextDep) -> Client:
    return await context.temporal.client()


TemporalClientDep = Annotated[Client, Depends(get_temporal_client)]


def get_vnode(
    short_hash: Annotated[
        str,
        Path(
            alias="holdingIdentityShortHash",
            description="The vnode's holding identity short hash: 12 hex characters, either case",
            examples=["AEFB0671801B"],
        ),
    ],
    context: ContextDep,
) -> VNode:
    """Return the vnode a path names, or raise 400 for a malformed short hash and 404 for an unknown one."""
    if not naming.SHORT_HASH_PATTERN.fullmatch(short_hash):
        raise ApiError(
            400,
            f"Invalid holding identity short hash {shorten(short_hash)!r}: use the 12 hexadecimal characters "
            "that GET /api/v5_2/virtualnode lists as shortHash",
            {"holdingIdentityShortHash": shorten(short_hash)},
        )
    vnode = context.vnodes.get(short_hash.upper())
    if vnode is None:
        raise ApiError(
            404,
            f"Virtual node {short_hash.upper()} not found in network group {context.network.group_id}; "
            "GET /api/v5_2/virtualnode lists the virtual nodes",
            {"holdingIdentityShortHash": short_hash.upper()},
        )
    return vnode


VNodeDep = Annotated[VNode, Depends(get_vnode)]


def get_client_request_id(
    client_request_id: Annotated[
        str,
        Path(
            alias="clientRequestId",
            description="The ID the flow was started with; a responder's is <sessionId>-INITIATED",
        ),
    ],
) -> str:
    """Return the path's clientRequestId, or raise 400 when no flow could have it."""
    if not naming.CLIENT_REQUEST_ID_PATTERN.fullmatch(client_request_id):
        raise ApiError(
            400,
            f"Invalid clientRequestId {shorten(client_request_id)!r}: a flow's ID has 1 to 242 characters "
            "from A-Z, a-z, 0-9, '-', '.' and '_'",
            {"clientRequestId": shorten(client_request_id)},
        )
    return client_request_id


ClientRequestIdDep = Annotated[str, Depends(get_client_request_id)]
