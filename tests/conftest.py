"""Fixtures that start the Temporal servers the tests need, on loopback, from the pip-installed binaries.

- ``ts_env``: one time-skipping test server for the session. Tests that depend
  on virtual time start their own with ``app.testing.start_time_skipping``, because
  time is global to a server and jumps for everyone while any test awaits.
- ``dev_env``: one dev server for the session, with the embedded default's
  dynamic config and the Corda search attributes.
- ``flow_network``: the test network's workers on each of the two servers in
  turn, for the flow semantics that must hold on both (they differ in how they
  deliver a signal issued by a closing workflow).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from app.network import load_network
from app.testing import TestNetwork, start_dev_server, start_time_skipping
from workflows.membership import StaticNetwork

TEST_NETWORK_FILE = Path(__file__).parent / "networks" / "test-network.json"
ALICE = "CN=Alice, OU=Test Dept, O=R3, L=London, C=GB"
BOB = "CN=Bob, OU=Test Dept, O=R3, L=London, C=GB"
CHARLIE = "CN=Charlie, OU=Test Dept, O=R3, L=London, C=GB"




@pytest.fixture(scope="session")
def network() -> StaticNetwork:
    return load_network(TEST_NETWORK_FILE)


@pytest.fixture(scope="session")
def network_file() -> Path:
    return TEST_NETWORK_FILE


@pytest.fixture(scope="session")
def network_json() -> dict:
    return json.loads(TEST_NETWORK_FILE.read_text())


@pytest_asyncio.fixture(scope="session")
async def ts_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await start_time_skipping()
    yield env
    await env.shutdown()


@pytest_asyncio.fixture(scope="session")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await start_dev_server()
    yield env
    await env.shutdown()


@pytest_asyncio.fixture(scope="session")
async def ts_network(ts_env: WorkflowEnvironment, network: StaticNetwork) -> AsyncIterator[TestNetwork]:
    async with TestNetwork(ts_env, network) as test_network:
        yield test_network


@pytest_asyncio.fixture(scope="session")
async def dev_network(dev_env: WorkflowEnvironment, network: StaticNetwork) -> AsyncIterator[TestNetwork]:
    async with TestNetwork(dev_env, network) as test_network:
        yield test_network


@pytest.fixture(params=["time-skipping", "dev-server"])
def flow_network(request: pytest.FixtureRequest) -> TestNetwork:
    """The test network on the time-skipping server, then on the dev server."""
    if request.param == "dev-server":
        request.applymarker(pytest.mark.devserver)
        return request.getfixturevalue("dev_network")
    return request.getfixturevalue("ts_network")
