"""Tests of the static network models and of loading network files."""

from __future__ import annotations

import hashlib
import json
import pathlib
from typing import Any

import pytest
from pydantic import ValidationError

import workflows.membership
from app.network import NetworkFileError, load_network
from workflows.identity import InvalidX500NameError, MemberX500Name
from workflows.membership import (
    DEFAULT_NOTARY_PROTOCOL,
    InvalidNetworkError,
    NetworkMember,
    RestUser,
    StaticNetwork,
    VNodeIdentity,
)

ALICE = "CN=Alice, OU=Test Dept, O=R3, L=London, C=GB"
BOB = "CN=Bob, OU=Test Dept, O=R3, L=London, C=GB"
CHARLIE = "CN=Charlie, OU=Test Dept, O=R3, L=London, C=GB"
NOTARY_VNODE = "CN=NotaryRep1, OU=Test Dept, O=R3, L=London, C=GB"
NOTARY_SERVICE = "CN=NotaryService, OU=Test Dept, O=R3, L=London, C=GB"
GROUP_ID = "accord-dev-group"


def network_data() -> dict[str, Any]:
    """Return the JSON data of a network like the default one, to modify per test."""
    cordapps = ["cordapps.quotes", "cordapps.conversation"]
    return {
        "groupId": GROUP_ID,
        "sessionTimeoutSeconds": 1800,
        "members": [
            {"name": ALICE, "cordapps": list(cordapps)},
            {"name": BOB, "cordapps": list(cordapps)},
            {"name": CHARLIE, "cordapps": list(cordapps)},
            {"name": NOTARY_VNODE, "cordapps": [], "notary": True},
        ],
        "notary": {"serviceName": NOTARY_SERVICE, "vnode": NOTARY_VNODE},
        "restUsers": [{"username": "admin", "password": "admin", "permissions": ["StartFlow:.*"]}],
    }


def network_problems(data: dict[str, Any]) -> list[str]:
    """Validate data that must fail the network-wide checks, and return their problems."""
    with pytest.raises(ValidationError) as raised:
        StaticNetwork.model_validate(data)
    errors = raised.value.errors()
    assert len(errors) == 1
    assert errors[0]["loc"] == ()
    cause = errors[0]["ctx"]["error"]
    assert isinstance(cause, InvalidNetworkError)
    return cause.problems


def field_errors(data: dict[str, Any]) -> dict[tuple[str | int, ...], str]:
    with pytest.raises(ValidationError) as raised:
        StaticNetwork.model_validate(data)
    return {error["loc"]: error["msg"] for error in raised.value.errors()}


@pytest.fixture(scope="module")
def default_network() -> StaticNetwork:
    return load_network()


# --- The default network ----------------------------------------------------


def test_default_network_has_four_members(default_network: StaticNetwork) -> None:
    assert default_network.group_id == "accord-dev-group"
    assert default_network.session_timeout_seconds == 1800
    assert [str(member.name) for member in default_network.members] == [
        ALICE,
        BOB,
        CHARLIE,
        NOTARY_VNODE,
    ]


def test_default_network_members_run_sample_cordapps(default_network: StaticNetwork) -> None:
    for member in default_network.members[:3]:
        assert member.cordapps == ["cordapps.quotes", "cordapps.conversation"]
        assert member.notary is False

    notary_member = default_network.members[3]
    assert notary_member.cordapps == []
    assert notary_member.notary is True


def test_default_network_notary_runs_on_notary_rep1(default_network: StaticNetwork) -> None:
    notary = default_network.notary

    assert notary is not None
    assert str(notary.service_name) == NOTARY_SERVICE
    assert str(notary.vnode) == NOTARY_VNODE
    assert notary.protocol == DEFAULT_NOTARY_PROTOCOL == "com.r3.corda.notary.plugin.nonvalidating"
    assert notary.backchain_required is True


def test_default_network_has_admin_user(default_network: StaticNetwork) -> None:
    assert len(default_network.rest_users) == 1
    admin = default_network.rest_users[0]
    assert admin.username == "admin"
    assert admin.password == "admin"
    assert admin.permissions == ["StartFlow:.*"]


@pytest.mark.parametrize(
    ("name", "canonical_then_group", "java_short_hash"),
    [
        # Short hashes from Java 17: SHA-256 over X500Principal.toString() + group ID.
        (ALICE, b"CN=Alice, OU=Test Dept, O=R3, L=London, C=GBaccord-dev-group", "AEFB0671801B"),
        (BOB, b"CN=Bob, OU=Test Dept, O=R3, L=London, C=GBaccord-dev-group", "F1EF37FF2592"),
        (CHARLIE, b"CN=Charlie, OU=Test Dept, O=R3, L=London, C=GBaccord-dev-group", "1508E19F8058"),
        (
            NOTARY_VNODE,
            b"CN=NotaryRep1, OU=Test Dept, O=R3, L=London, C=GBaccord-dev-group",
            "0B228C60F6AC",
        ),
    ],
)
def test_default_network_short_hashes(
    default_network: StaticNetwork, name: str, canonical_then_group: bytes, java_short_hash: str
) -> None:
    expected = hashlib.sha256(canonical_then_group).hexdigest().upper()[:12]

    assert expected == java_short_hash
    assert default_network.short_hash(name) == expected
    assert default_network.short_hash(MemberX500Name.parse(name)) == expected


# --- Lookups ----------------------------------------------------------------


def test_member_accepts_name_or_string(default_network: StaticNetwork) -> None:
    by_string = default_network.member("C=GB, L=London, O=R3, OU=Test Dept, CN=Bob")
    by_name = default_network.member(MemberX500Name.parse(BOB))

    assert by_string is not None
    assert str(by_string.name) == BOB
    assert by_name is by_string


def test_member_returns_none_for_stranger(default_network: StaticNetwork) -> None:
    assert default_network.member("CN=Mallory, O=R3, L=London, C=GB") is None


def test_member_rejects_invalid_name_string(default_network: StaticNetwork) -> None:
    with pytest.raises(InvalidX500NameError, match="attribute C is missing"):
        default_network.member("CN=Bob, O=R3, L=London")


def test_member_by_short_hash_finds_member(default_network: StaticNetwork) -> None:
    member = default_network.member_by_short_hash("F1EF37FF2592")

    assert member is not None
    assert str(member.name) == BOB


def test_member_by_short_hash_ignores_case(default_network: StaticNetwork) -> None:
    member = default_network.member_by_short_hash("aefb0671801b")

    assert member is not None
    assert str(member.name) == ALICE
    assert default_network.member_by_short_hash("Aefb0671801B") is member


def test_member_by_short_hash_returns_none_for_unknown(default_network: StaticNetwork) -> None:
    assert default_network.member_by_short_hash("000000000000") is None
    assert default_network.member_by_short_hash("") is None


def test_vnodes_list_every_member_identity(default_network: StaticNetwork) -> None:
    vnodes = default_network.vnodes()

    assert [str(vnode.name) for vnode in vnodes] == [ALICE, BOB, CHARLIE, NOTARY_VNODE]
    assert [vnode.short_hash for vnode in vnodes] == [
        "AEFB0671801B",
        "F1EF37FF2592",
        "1508E19F8058",
        "0B228C60F6AC",
    ]
    assert vnodes[0].full_hash == (
        "AEFB0671801BA9AB0AA38F6A9C57B62F6E568E5E3C13EA37E8925851DDD11026"
    )
    assert all(vnode.group_id == GROUP_ID for vnode in vnodes)
    assert all(vnode.full_hash.startswith(vnode.short_hash) for vnode in vnodes)


def test_vnode_identity_is_frozen(default_network: StaticNetwork) -> None:
    vnode = default_network.vnodes()[0]

    with pytest.raises(ValidationError):
        vnode.short_hash = "000000000000"
    assert hash(vnode) == hash(VNodeIdentity.model_validate(vnode.model_dump()))


# --- JSON form --------------------------------------------------------------


def test_network_json_uses_camel_case_keys(default_network: StaticNetwork) -> None:
    data = default_network.model_dump(mode="json")

    assert set(data) == {"groupId", "sessionTimeoutSeconds", "members", "notary", "restUsers"}
    assert data["members"][0] == {
        "name": ALICE,
        "cordapps": ["cordapps.quotes", "cordapps.conversation"],
        "notary": False,
    }
    assert data["notary"] == {
        "serviceName": NOTARY_SERVICE,
        "vnode": NOTARY_VNODE,
        "protocol": "com.r3.corda.notary.plugin.nonvalidating",
        "backchainRequired": True,
    }


def test_network_json_round_trip(default_network: StaticNetwork) -> None:
    restored = StaticNetwork.model_validate_json(default_network.model_dump_json())

    assert restored == default_network


def test_network_accepts_snake_case_field_names() -> None:
    network = StaticNetwork(
        group_id="g",
        session_timeout_seconds=60,
        members=[NetworkMember(name=ALICE)],
        rest_users=[RestUser(username="u", password="p")],
    )

    assert network.session_timeout_seconds == 60
    assert network.members[0].cordapps == []
    assert network.notary is None
    assert network.rest_users[0].permissions == []


def test_network_defaults_timeout_to_1800_seconds() -> None:
    data = network_data()
    del data["sessionTimeoutSeconds"]

    assert StaticNetwork.model_validate(data).session_timeout_seconds == 1800


def test_rest_user_repr_hides_password() -> None:
    user = RestUser(username="admin", password="s3cret", permissions=["StartFlow:.*"])

    assert "s3cret" not in repr(user)
    assert "admin" in repr(user)


# --- Field validation -------------------------------------------------------


def test_network_rejects_unknown_key() -> None:
    data = network_data()
    data["member"] = []
    data["members"][0]["cordApps"] = []

    errors = field_errors(data)

    assert errors[("member",)] == "Extra inputs are not permitted"
    assert errors[("members", 0, "cordApps")] == "Extra inputs are not permitted"


def test_network_rejects_invalid_member_name() -> None:
    data = network_data()
    data["members"][1]["name"] = "CN=Bob, O=R3, L=London, C=UK"

    errors = field_errors(data)

    assert "attribute C is 'UK'" in errors[("members", 1, "name")]


def test_network_rejects_empty_members() -> None:
    data = network_data()
    data["members"] = []
    data["notary"] = None

    errors = field_errors(data)

    assert "at least 1 item" in errors[("members",)]


@pytest.mark.parametrize("timeout", [0, -5, "inf"])
def test_network_rejects_invalid_timeout(timeout: object) -> None:
    data = network_data()
    data["sessionTimeoutSeconds"] = timeout

    errors = field_errors(data)

    assert ("sessionTimeoutSeconds",) in errors


@pytest.mark.parametrize("group_id", ["", "   "])
def test_network_rejects_blank_group_id(group_id: str) -> None:
    data = network_data()
    data["groupId"] = group_id

    errors = field_errors(data)

    assert ("groupId",) in errors


def test_network_rejects_invalid_cordapp_module_names() -> None:
    data = network_data()
    data["members"][0]["cordapps"] = ["cordapps.quotes", "cordapps-chat", "cordapps..x"]
    data["members"][1]["cordapps"] = ["9lives"]

    errors = field_errors(data)

    assert errors[("members", 0, "cordapps")] == (
        "Value error, 'cordapps-chat', 'cordapps..x' are not valid Python module names, "
        "so use dotted identifiers such as 'cordapps.quotes'"
    )
    assert errors[("members", 1, "cordapps")] == (
        "Value error, '9lives' is not a valid Python module name, "
        "so use dotted identifiers such as 'cordapps.quotes'"
    )


# --- Network-wide validation ------------------------------------------------


def test_network_rejects_duplicate_member_names() -> None:
    data = network_data()
    data["members"].append({"name": "C=GB, L=London, O=R3, OU=Test Dept, CN=Bob"})

    problems = network_problems(data)

    assert problems == [
        f"member {BOB!r} appears 2 times in members, "
        "so remove the duplicates or give each vnode its own name"
    ]


def test_network_rejects_notary_vnode_outside_members() -> None:
    data = network_data()
    data["members"].pop()

    problems = network_problems(data)

    assert problems == [
        f"the notary's vnode {NOTARY_VNODE!r} is not in members, "
        'so add a member with that name and "notary": true'
    ]


def test_network_rejects_notary_vnode_not_marked_notary() -> None:
    data = network_data()
    data["members"][3]["notary"] = False

    problems = network_problems(data)

    assert problems == [f'the notary\'s vnode {NOTARY_VNODE!r} has "notary": false, so set it to true']


def test_network_rejects_notary_member_without_service() -> None:
    data = network_data()
    data["notary"] = None

    problems = network_problems(data)

    assert len(problems) == 1
    assert f"member {NOTARY_VNODE!r} has \"notary\": true" in problems[0]
    assert "the network has no notary service" in problems[0]


def test_network_rejects_second_notary_member() -> None:
    data = network_data()
    data["members"][0]["notary"] = True

    problems = network_problems(data)

    assert len(problems) == 1
    assert f"member {ALICE!r} has \"notary\": true" in problems[0]
    assert f"the notary service runs on {NOTARY_VNODE!r}" in problems[0]


def test_network_rejects_service_name_of_member() -> None:
    data = network_data()
    data["notary"]["serviceName"] = ALICE

    problems = network_problems(data)

    assert len(problems) == 1
    assert f"the notary service name {ALICE!r} is also a member name" in problems[0]


def test_network_rejects_duplicate_short_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    # A real collision of 48-bit hashes is too rare to construct, so every name gets one hash.
    monkeypatch.setattr(
        workflows.membership, "holding_identity_short_hash", lambda name, group_id: "ABCDEF012345"
    )
    data = network_data()
    data["members"] = data["members"][:2]
    data["notary"] = None

    problems = network_problems(data)

    assert problems == [
        f"members {ALICE!r} and {BOB!r} have the same short hash ABCDEF012345, so rename one of them"
    ]


def test_network_rejects_duplicate_rest_users() -> None:
    data = network_data()
    data["restUsers"].append({"username": "admin", "password": "other"})

    problems = network_problems(data)

    assert problems == ["REST user 'admin' appears 2 times in restUsers, so keep one entry per user"]


def test_network_lists_every_problem_once() -> None:
    data = network_data()
    data["members"][3]["notary"] = False
    data["members"][0]["notary"] = True
    data["members"].append(dict(data["members"][0]))

    problems = network_problems(data)

    assert len(problems) == 3
    assert problems[0].startswith(f"member {ALICE!r} appears 2 times")
    assert problems[1].startswith(f"the notary's vnode {NOTARY_VNODE!r} has \"notary\": false")
    assert problems[2].startswith(f"member {ALICE!r} has \"notary\": true")


def test_network_without_notary_is_valid() -> None:
    data = network_data()
    data["members"].pop()
    data["notary"] = None

    network = StaticNetwork.model_validate(data)

    assert network.notary is None
    assert len(network.members) == 3


# --- load_network -----------------------------------------------------------


def write_network(tmp_path: pathlib.Path, text: str) -> pathlib.Path:
    path = tmp_path / "network.json"
    path.write_text(text, encoding="utf-8")
    return path


def test_load_network_reads_given_file(tmp_path: pathlib.Path) -> None:
    data = network_data()
    data["groupId"] = "my-group"
    path = write_network(tmp_path, json.dumps(data))

    assert load_network(path).group_id == "my-group"
    assert load_network(str(path)).group_id == "my-group"


def test_load_network_rejects_missing_file(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "absent.json"

    with pytest.raises(NetworkFileError) as raised:
        load_network(path)

    assert raised.value.path == str(path)
    assert str(raised.value) == (
        f"Network file {path} was not found, so check the path, "
        "or pass no path to use the packaged default network"
    )


def test_load_network_rejects_directory(tmp_path: pathlib.Path) -> None:
    with pytest.raises(NetworkFileError, match="cannot be read"):
        load_network(tmp_path)


def test_load_network_rejects_bad_json(tmp_path: pathlib.Path) -> None:
    path = write_network(tmp_path, '{\n  "groupId": "g",\n  "members": [,]\n}')

    with pytest.raises(NetworkFileError) as raised:
        load_network(path)

    assert str(raised.value) == (
        f"Network file {path} is not valid JSON: Expecting value at line 3 column 15"
    )


def test_load_network_rejects_non_utf8_file(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "network.json"
    path.write_bytes(b'{"groupId": "\xff"}')

    with pytest.raises(NetworkFileError, match="is not UTF-8 text"):
        load_network(path)


def test_load_network_rejects_duplicate_json_key(tmp_path: pathlib.Path) -> None:
    path = write_network(tmp_path, '{"groupId": "a", "groupId": "b"}')

    with pytest.raises(NetworkFileError) as raised:
        load_network(path)

    assert "the key 'groupId' appears twice in one object" in str(raised.value)


def test_load_network_rejects_bad_field(tmp_path: pathlib.Path) -> None:
    data = network_data()
    data["members"][1]["name"] = "CN=Bob, O=R3, L=London"
    data["sessionTimeoutSeconds"] = 0
    path = write_network(tmp_path, json.dumps(data))

    with pytest.raises(NetworkFileError) as raised:
        load_network(path)
    error = raised.value

    assert str(error).startswith(f"Network file {path} is not a valid network:\n")
    assert error.details == [
        "sessionTimeoutSeconds: Input should be greater than 0",
        "members[1].name: Invalid X.500 name 'CN=Bob, O=R3, L=London': "
        "attribute C is missing, but a member name needs O, L and C",
    ]


def test_load_network_lists_problems_per_line(tmp_path: pathlib.Path) -> None:
    data = network_data()
    data["members"][3]["notary"] = False
    data["restUsers"].append({"username": "admin", "password": "x"})
    path = write_network(tmp_path, json.dumps(data))

    with pytest.raises(NetworkFileError) as raised:
        load_network(path)

    assert raised.value.details == [
        f'(network): the notary\'s vnode {NOTARY_VNODE!r} has "notary": false, so set it to true',
        "(network): REST user 'admin' appears 2 times in restUsers, so keep one entry per user",
    ]


def test_network_file_error_is_value_error() -> None:
    assert issubclass(NetworkFileError, ValueError)
