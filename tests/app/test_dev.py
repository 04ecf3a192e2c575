"""``accord dev`` as a user runs it: a subprocess on ports moved off the defaults.

The end-to-end tests start the whole embedded stack (Temporal dev server, four
worker processes, the REST API) with its state in a temporary folder and a
copy of the default network file there. Every child's command line then names
that folder, which is how the tests find any child left running.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack
from importlib import resources
from pathlib import Path

import pytest

from app.dev import DevConfig, StackError, check_ports_free
from app.network import load_network

REPOSITORY = Path(__file__).resolve().parents[2]
DEMO_TIMEOUT = 240
"""Seconds for a start, the demo and a stop together, many times the 10 s they took on an idle 2-core machine."""


def free_ports(count: int) -> list[int]:
    """Return ports that nothing listens on now; the sockets stay open together so they differ."""
    with ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(count)]
        for probe in sockets:
            probe.bind(("127.0.0.1", 0))
        return [probe.getsockname()[1] for probe in sockets]


def processes_mentioning(text: str) -> list[str]:
    """List the processes whose command line contains ``text``, other than this one."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in command:
            found.append(f"{entry.name}: {command}")
    return found


@pytest.fixture
def workspace(tmp_path: Path) -> Iterator[Path]:
    """A folder holding a copy of the default network; children left running in it are killed afterwards."""
    default = resources.files("app").joinpath("networks/default.json")
    (tmp_path / "network.json").write_text(default.read_text(encoding="utf-8"), encoding="utf-8")
    yield tmp_path
    for line in processes_mentioning(str(tmp_path)):
        os.kill(int(line.split(":", 1)[0]), signal.SIGKILL)


def dev_command(workspace: Path, ports: list[int], *extra: str) -> list[str]:
    temporal_port, ui_port, api_port = ports
    return [
        sys.executable,
        "-m",
        "app",
        "dev",
        "--network",
        str(workspace / "network.json"),
        "--state-dir",
        str(workspace / "state"),
        "--temporal-port",
        str(temporal_port),
        "--ui-port",
        str(ui_port),
        "--api-port",
        str(api_port),
        *extra,
    ]


def dev_environment() -> dict[str, str]:
    environment = {key: value for key, value in os.environ.items() if not key.startswith(("ACCORD_", "TEMPORAL_"))}
    environment["PYTHONUNBUFFERED"] = "1"
    return environment


def test_check_ports_free_rejects_taken_port() -> None:
    network = load_network()
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        taken = listener.getsockname()[1]
        temporal_port, ui_port = free_ports(2)
        config = DevConfig(Path("unused"), network, None, temporal_port=temporal_port, ui_port=ui_port, api_port=taken)

        with pytest.raises(StackError, match=f"Port {taken} on 127.0.0.1 is already in use.*--api-port"):
            check_ports_free(config)


def test_check_ports_free_rejects_shared_port() -> None:
    port = free_ports(1)[0]
    config = DevConfig(Path("unused"), load_network(), None, temporal_port=port, ui_port=port, api_port=port + 1)

    message = f"Port {port} is given to both the Temporal dev server and the Temporal Web UI"

    with pytest.raises(StackError, match=message):
        check_ports_free(config)


def test_dev_port_in_use_starts_nothing(workspace: Path) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        ports = [listener.getsockname()[1], *free_ports(2)]

        finished = subprocess.run(
            dev_command(workspace, ports),
            cwd=REPOSITORY,
            env=dev_environment(),
            capture_output=True,
            text=True,
            timeout=60,
        )

    assert finished.returncode == 1
    assert f"Port {ports[0]} on 127.0.0.1 is already in use" in finished.stderr
    assert "--temporal-port" in finished.stderr
    assert not (workspace / "state").exists()
    assert processes_mentioning(str(workspace)) == []


def test_dev_unimportable_cordapp_starts_nothing(workspace: Path) -> None:
    network_file = workspace / "network.json"
    network = json.loads(network_file.read_text())
    network["members"][0]["cordapps"] = ["no_such_cordapp"]
    network_file.write_text(json.dumps(network))

    finished = subprocess.run(
        dev_command(workspace, free_ports(3)),
        cwd=REPOSITORY,
        env=dev_environment(),
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert finished.returncode == 1
    assert "CorDapps of CN=Alice, OU=Test Dept, O=R3, L=London, C=GB are invalid" in finished.stderr
    assert "CorDapp module 'no_such_cordapp' cannot be imported" in finished.stderr
    assert not (workspace / "state").exists()


@pytest.mark.slow
@pytest.mark.devserver
@pytest.mark.timeout(DEMO_TIMEOUT + 30)
def test_dev_demo_exits_after_table(workspace: Path) -> None:
    ports = free_ports(3)
    ui_port = ports[1]

    finished = subprocess.run(
        dev_command(workspace, ports, "--demo", "--exit-after-demo"),
        cwd=REPOSITORY,
        env=dev_environment(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=DEMO_TIMEOUT,
    )

    explanation = f"stdout:\n{finished.stdout}\nstderr:\n{finished.stderr[-6000:]}"
    assert finished.returncode == 0, explanation
    lines = finished.stdout.splitlines()
    assert len(lines) == 9, explanation
    assert lines[0].startswith("Flow "), explanation
    tea, tea_subflow, sugar, sugar_subflow, conversation, conversation_subflow = lines[2:8]
    assert tea.startswith("RequestQuotesFlow tea  "), explanation
    assert " COMPLETED " in tea, explanation
    assert sugar.startswith("RequestQuotesFlow sugar  "), explanation
    assert " FAILED (expected) " in sugar, explanation
    assert "does not sell 'sugar'" in sugar, explanation
    assert conversation.startswith("ConversationFlow 10 rounds  "), explanation
    assert " COMPLETED " in conversation, explanation
    for row in (tea, sugar, conversation):
        assert f"http://127.0.0.1:{ui_port}/namespaces/default/workflows/" in row, explanation
    for row in (tea_subflow, sugar_subflow, conversation_subflow):
        assert row.strip().startswith("subflow "), explanation
        assert row.endswith("%2Fsub%2F1"), explanation
    assert lines[8] == "Demo: 3 of 3 flows ended as expected", explanation
    assert processes_mentioning(str(workspace)) == []


@pytest.mark.slow
@pytest.mark.devserver
@pytest.mark.timeout(DEMO_TIMEOUT + 30)
def test_dev_sigint_stops_in_order(workspace: Path) -> None:
    log_path = workspace / "dev.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            dev_command(workspace, free_ports(3)),
            cwd=REPOSITORY,
            env=dev_environment(),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + DEMO_TIMEOUT / 2
            while "Serving until Ctrl-C" not in log_path.read_text() and process.poll() is None:
                assert time.monotonic() < deadline, log_path.read_text()[-6000:]
                time.sleep(0.5)
            children = [line for line in processes_mentioning(str(workspace)) if not line.startswith(f"{process.pid}:")]

            process.send_signal(signal.SIGINT)
            code = process.wait(timeout=DEMO_TIMEOUT / 2)
        finally:
            if process.poll() is None:
                process.kill()

    output = log_path.read_text()
    assert code == 0, output[-6000:]
    assert len(children) == 6, children
    api = output.index("Stopping the REST API")
    workers = output.index("Stopping 4 worker processes")
    server = output.index("Stopping the Temporal dev server")
    assert api < workers < server
    assert "Stopped the embedded stack" in output
    assert "Fatal Python error" not in output
    assert processes_mentioning(str(workspace)) == []
