"""The routes that describe the network: virtual nodes, flow classes and members."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import ALICE, BOB, CHARLIE
from tests.rest.conftest import API, ECHO_FLOW, ECHO_RESPONDER, NOTARY
from workflows.membership import StaticNetwork

pytestmark = pytest.mark.devserver


async def test_virtual_nodes_list_every_member(api: httpx.AsyncClient, network: StaticNetwork) -> None:
    response = await api.get(f"{API}/virtualnode")

    listed = [node["holdingIdentity"]["shortHash"] for node in response.json()["virtualNodes"]]
    assert response.status_code == 200
    assert listed == [vnode.short_hash for vnode in network.vnodes()]


async def test_virtual_node_has_corda_shape(api: httpx.AsyncClient, network: StaticNetwork) -> None:
    [alice] = [vnode for vnode in network.vnodes() if str(vnode.name) == ALICE]

    response = await api.get(f"{API}/virtualnode/{alice.short_hash}")

    body = response.json()
    assert response.status_code == 200
    assert body["holdingIdentity"] == {
        "x500Name": ALICE,
        "groupId": "accord-test-group",
        "shortHash": alice.short_hash,
        "fullHash": alice.full_hash,
    }
    assert body["cpiIdentifier"]["cpiName"].split(", ") == network.member(ALICE).cordapps
    assert body["flowP2pOperationalStatus"] == "ACTIVE"
    assert body["flowStartOperationalStatus"] == "ACTIVE"
    assert body["flowOperationalStatus"] == "ACTIVE"
    assert body["vaultDbOperationalStatus"] == "ACTIVE"


async def test_virtual_node_accepts_lower_case_hash(api: httpx.AsyncClient, network: StaticNetwork) -> None:
    response = await api.get(f"{API}/virtualnode/{network.short_hash(BOB).lower()}")

    assert response.status_code == 200
    assert response.json()["holdingIdentity"]["x500Name"] == BOB


async def test_unknown_virtual_node_is_404(api: httpx.AsyncClient) -> None:
    response = await api.get(f"{API}/virtualnode/ABCDEF012345")

    assert response.status_code == 404
    assert response.json()["title"].startswith("Virtual node ABCDEF012345 not found")


async def test_malformed_virtual_node_hash_is_400(api: httpx.AsyncClient) -> None:
    response = await api.get(f"{API}/virtualnode/not-a-hash")

    assert response.status_code == 400
    assert response.json()["details"] == {"holdingIdentityShortHash": "not-a-hash"}


async def test_flow_classes_list_startable_flows_only(api: httpx.AsyncClient, network: StaticNetwork) -> None:
    response = await api.get(f"{API}/flowclass/{network.short_hash(ALICE)}")

    names = response.json()["flowClassNames"]
    assert response.status_code == 200
    assert ECHO_FLOW in names
    assert "cordapps.quotes.RequestQuotesFlow" in names
    assert ECHO_RESPONDER not in names
    assert names == sorted(names)


async def test_flow_classes_of_notary_are_empty(api: httpx.AsyncClient, network: StaticNetwork) -> None:
    response = await api.get(f"{API}/flowclass/{network.short_hash(NOTARY)}")

    assert response.status_code == 200
    assert response.json() == {"flowClassNames": []}


async def test_flow_classes_of_unknown_vnode_is_404(api: httpx.AsyncClient) -> None:
    response = await api.get(f"{API}/flowclass/ABCDEF012345")

    assert response.status_code == 404


async def test_members_list_whole_group(api: httpx.AsyncClient, network: StaticNetwork) -> None:
    response = await api.get(f"{API}/members/{network.short_hash(ALICE)}")

    members = response.json()["members"]
    assert response.status_code == 200
    assert [member["memberContext"]["corda.name"] for member in members] == [ALICE, BOB, CHARLIE, NOTARY]
    assert {member["memberContext"]["corda.groupId"] for member in members} == {"accord-test-group"}
    assert {member["mgmContext"]["corda.status"] for member in members} == {"ACTIVE"}


async def test_notary_member_carries_notary_role(api: httpx.AsyncClient, network: StaticNetwork) -> None:
    response = await api.get(f"{API}/members/{network.short_hash(ALICE)}", params={"cn": "NotaryRep1"})

    [notary] = response.json()["members"]
    assert notary["memberContext"]["corda.roles.0"] == "notary"
    service_name = "CN=NotaryService, OU=Test Dept, O=R3, L=London, C=GB"
    assert notary["memberContext"]["corda.notary.service.name"] == service_name
    assert notary["memberContext"]["corda.notary.service.flow.protocol.name"] == (
        "com.r3.corda.notary.plugin.nonvalidating"
    )


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"cn": "alice"}, [ALICE]),
        ({"cn": "Bob", "o": "R3"}, [BOB]),
        ({"o": "r3", "l": "LONDON", "c": "gb", "ou": "test dept"}, [ALICE, BOB, CHARLIE, NOTARY]),
        ({"c": "US"}, []),
        ({"st": "Texas"}, []),
        ({"statuses": "SUSPENDED"}, []),
        ({"statuses": ["SUSPENDED", "ACTIVE"], "cn": "Charlie"}, [CHARLIE]),
    ],
    ids=["cn-ignores-case", "cn-and-o", "every-attribute", "other-country", "state-absent", "suspended", "statuses"],
)
async def test_member_filters(
    api: httpx.AsyncClient, network: StaticNetwork, params: dict[str, object], expected: list[str]
) -> None:
    response = await api.get(f"{API}/members/{network.short_hash(BOB)}", params=params)

    assert response.status_code == 200
    assert [member["memberContext"]["corda.name"] for member in response.json()["members"]] == expected


async def test_unknown_member_status_is_400(api: httpx.AsyncClient, network: StaticNetwork) -> None:
    response = await api.get(f"{API}/members/{network.short_hash(BOB)}", params={"statuses": "RETIRED"})

    assert response.status_code == 400
    assert response.json()["title"].startswith("Invalid member status 'RETIRED'")


async def test_members_of_unknown_vnode_is_404(api: httpx.AsyncClient) -> None:
    response = await api.get(f"{API}/members/ABCDEF012345")

    assert response.status_code == 404
