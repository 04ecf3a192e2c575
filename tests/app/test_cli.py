"""``accord`` argument errors: each exits with code 2 and a message that names the value and the fix.

These run ``main`` in-process; every case fails before anything connects or
starts, so ``main`` raises ``SystemExit`` rather than ending the process.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.cli import main, resolve_vnodes
from app.network import load_network

ALICE = "CN=Alice, OU=Test Dept, O=R3, L=London, C=GB"


@pytest.fixture(autouse=True)
def restore_root_logger() -> Iterator[None]:
    """``main`` configures logging; put the root logger back as pytest had it."""
    root = logging.getLogger()
    handlers = list(root.handlers)
    level = root.level
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)


def run_main(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(list(argv))
    return exit_info.value.code, capsys.readouterr().err


def write_network(path: Path, members: list[dict]) -> Path:
    path.write_text(json.dumps({"groupId": "test-group", "members": members}), encoding="utf-8")
    return path


def test_worker_unknown_vnode(capsys: pytest.CaptureFixture[str]) -> None:
    code, err = run_main(capsys, "worker", "--vnode", "Dave")

    assert code == 2
    assert "accord worker: error: Unknown vnode 'Dave' in network group accord-dev-group" in err
    assert f"{ALICE} (" in err


def test_worker_missing_network_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    missing = tmp_path / "missing.json"

    code, err = run_main(capsys, "worker", "--network", str(missing))

    assert code == 2
    assert f"Network file {missing} was not found" in err


def test_api_network_not_json(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text("{", encoding="utf-8")

    code, err = run_main(capsys, "api", "--network", str(broken))

    assert code == 2
    assert "accord api: error:" in err
    assert "is not valid JSON" in err


def test_dev_invalid_network(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    empty = write_network(tmp_path / "empty.json", [])

    code, err = run_main(capsys, "dev", "--network", str(empty), "--state-dir", str(tmp_path / "state"))

    assert code == 2
    assert "is not a valid network" in err
    assert "members" in err
    assert not (tmp_path / "state").exists()


def test_network_from_environment(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = tmp_path / "from-env.json"
    monkeypatch.setenv("ACCORD_NETWORK", str(missing))

    code, err = run_main(capsys, "worker")

    assert code == 2
    assert f"Network file {missing} was not found" in err


def test_dev_demo_needs_sample_members(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    network = write_network(
        tmp_path / "two.json",
        [
            {"name": ALICE, "cordapps": ["cordapps.quotes", "cordapps.conversation"]},
            {"name": "CN=Bob, OU=Test Dept, O=R3, L=London, C=GB", "cordapps": ["cordapps.quotes"]},
        ],
    )

    code, err = run_main(capsys, "dev", "--demo", "--network", str(network))

    assert code == 2
    assert "The demo needs CN=Bob, OU=Test Dept, O=R3, L=London, C=GB to run the CorDapps cordapps.conversation" in (
        err
    )

    both = '["cordapps.quotes", "cordapps.conversation"]'
    network.write_text(network.read_text().replace('["cordapps.quotes"]', both))

    code, err = run_main(capsys, "dev", "--demo", "--network", str(network))

    assert code == 2
    assert "The demo needs a member with CN=Charlie" in err


def test_dev_exit_after_demo_needs_demo(capsys: pytest.CaptureFixture[str]) -> None:
    code, err = run_main(capsys, "dev", "--exit-after-demo")

    assert code == 2
    assert "--exit-after-demo needs --demo" in err


@pytest.mark.parametrize("port", ["0", "65536", "http"])
def test_dev_invalid_port(capsys: pytest.CaptureFixture[str], port: str) -> None:
    code, err = run_main(capsys, "dev", "--api-port", port)

    assert code == 2
    assert f"invalid port {port if port != 'http' else repr(port)}" in err


def test_invalid_log_level(capsys: pytest.CaptureFixture[str]) -> None:
    code, err = run_main(capsys, "worker", "--log-level", "loud")

    assert code == 2
    assert "invalid choice: 'LOUD'" in err


def test_resolve_vnodes_by_each_form() -> None:
    network = load_network()
    alice = network.members[0].name
    bob = network.members[1].name

    assert resolve_vnodes(network, None) == [member.name for member in network.members]
    assert resolve_vnodes(network, ["Alice"]) == [alice]
    assert resolve_vnodes(network, ["alice"]) == [alice]
    assert resolve_vnodes(network, [network.short_hash(bob).lower()]) == [bob]
    assert resolve_vnodes(network, ["C=GB, L=London, O=R3, OU=Test Dept, CN=Bob"]) == [bob]
    assert resolve_vnodes(network, ["Bob", "Alice", "Bob"]) == [bob, alice]


def test_resolve_vnodes_ambiguous_common_name(tmp_path: Path) -> None:
    network = load_network(
        write_network(
            tmp_path / "twins.json",
            [
                {"name": "CN=Bob, O=R3, L=London, C=GB"},
                {"name": "CN=Bob, O=Other, L=Paris, C=FR"},
            ],
        )
    )

    with pytest.raises(ValueError, match="Vnode 'Bob' matches several members; give the full X.500 name"):
        resolve_vnodes(network, ["Bob"])
