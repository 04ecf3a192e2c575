"""The worker process: one Temporal worker per vnode, polling that vnode's task queue.

Each worker runs the workflows of the flows the vnode's CorDapps define, the
session-initiation activity bound to that vnode's responders, and the member
lookup local activity. Flow code runs in Temporal's sandbox with this
project's ``workflows`` package passed through, so CorDapp modules are
re-imported for each run and stay deterministic.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import timedelta

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest, ListSearchAttributesRequest
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities.external import ExternalOperationActivities
from activities.membership import MembershipActivities
from activities.messaging import SessionActivities
from workflows import naming
from workflows.identity import MemberX500Name
from workflows.membership import StaticNetwork
from workflows.registry import FlowRegistry

logger = logging.getLogger(__name__)

_INDEXED_TYPES = {
    "Keyword": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
    "KeywordList": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST,
}


async def connect(address: str, namespace: str) -> Client:
    """Connect to Temporal with the pydantic data converter that every Accord process uses."""
    return await Client.connect(address, namespace=namespace, data_converter=pydantic_data_converter)


def search_attribute_types() -> dict[str, str]:
    """Return the Corda search attributes and their Temporal types, as ``start-dev`` flags take them."""
    return {
        key.name: "KeywordList" if key is naming.CORDA_TX_ID else "Keyword" for key in naming.SEARCH_ATTRIBUTES
    }


async def ensure_search_attributes(client: Client) -> None:
    """Register the Corda search attributes, or stop with instructions where the server forbids it."""
    try:
        existing = await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace=client.namespace)
        )
        registered = set(existing.custom_attributes)
    except RPCError as error:
        # The time-skipping test server can add search attributes but not list them.
        if error.status != RPCStatusCode.UNIMPLEMENTED:
            raise
        registered = set()
    missing = {
        name: _INDEXED_TYPES[kind] for name, kind in search_attribute_types().items() if name not in registered
    }
    if not missing:
        return
    try:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(namespace=client.namespace, search_attributes=missing)
        )
    except RPCError as error:
        if error.status == RPCStatusCode.ALREADY_EXISTS:
            return
        commands = "; ".join(
            f"temporal operator search-attribute create --name {name} --type {kind}"
            for name, kind in search_attribute_types().items()
            if name in missing
        )
        raise RuntimeError(
            f"Cannot register search attributes {', '.join(missing)} in namespace {client.namespace}: "
            f"{error.message}. Create them once with: {commands}"
        ) from error
    logger.info("Registered search attributes %s", ", ".join(missing))


def sandbox_runner() -> SandboxedWorkflowRunner:
    """Return the workflow runner: the sandbox with the flow API package passed through."""
    return SandboxedWorkflowRunner(restrictions=SandboxRestrictions.default.with_passthrough_modules("workflows"))


def create_vnode_worker(
    client: Client,
    network: StaticNetwork,
    vnode: MemberX500Name,
    *,
    registry: FlowRegistry | None = None,
    max_cached_workflows: int = 1000,
    sticky_queue_schedule_to_start_timeout: timedelta = timedelta(seconds=5),
) -> Worker:
    """Create the worker of one vnode, polling ``vnode-<shortHash>``.

    Raises:
        FlowRegistrationError: The vnode's CorDapps define invalid flows.
        ValueError: ``vnode`` is not a member of ``network``.
    """
    member = network.member(vnode)
    if member is None:
        raise ValueError(f"{vnode} is not a member of network group {network.group_id}; check the network file")
    if registry is None:
        registry = FlowRegistry.load(member.cordapps)
    return Worker(
        client,
        task_queue=naming.task_queue(network.short_hash(vnode)),
        workflows=registry.workflow_classes(),
        activities=[
            SessionActivities(network, member.name, registry).initiate_session,
            MembershipActivities(network).lookup_member,
            ExternalOperationActivities(registry).run_external_operation,
        ],
        workflow_runner=sandbox_runner(),
        max_cached_workflows=max_cached_workflows,
        sticky_queue_schedule_to_start_timeout=sticky_queue_schedule_to_start_timeout,
        graceful_shutdown_timeout=timedelta(seconds=10),
    )


async def run_workers(
    client: Client, network: StaticNetwork, vnodes: Sequence[MemberX500Name], stop: asyncio.Event
) -> None:
    """Run the workers of ``vnodes`` until ``stop`` is set, then shut them down gracefully."""
    await ensure_search_attributes(client)
    workers = [create_vnode_worker(client, network, vnode) for vnode in vnodes]
    tasks = [asyncio.create_task(worker.run()) for worker in workers]
    for vnode in vnodes:
        logger.info("Worker for %s polls %s", vnode, naming.task_queue(network.short_hash(vnode)))
    stopped = asyncio.create_task(stop.wait())
    done, _ = await asyncio.wait([stopped, *tasks], return_when=asyncio.FIRST_COMPLETED)
    logger.info("Shutting down %d workers", len(workers))
    await asyncio.gather(*(worker.shutdown() for worker in workers), return_exceptions=True)
    for task in tasks:
        if task in done and task.exception() is not None:
            raise task.exception()  # type: ignore[misc]
