"""The ``accord`` command: ``accord dev``, ``accord worker`` and ``accord api``.

- ``accord dev`` runs the embedded stack on 127.0.0.1 (``app.dev``) and, with
  ``--demo``, the sample flows through the REST API (``app.demo``).
- ``accord worker`` runs vnode workers against any Temporal server.
- ``accord api`` serves the REST API alone.

Flags override the environment: ``TEMPORAL_ADDRESS``, ``TEMPORAL_NAMESPACE``,
``ACCORD_NETWORK``, ``ACCORD_API_HOST``, ``ACCORD_API_PORT``,
``ACCORD_TEMPORAL_UI`` (read by ``Settings.from_environment``) and
``ACCORD_LOG_LEVEL``. Argument errors exit with code 2, failures at run time
with code 1.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import logging
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from app.logs import configure_logging, log_context
from app.network import NetworkFileError, load_network
from app.settings import Settings
from workflows.errors import FlowRegistrationError
from workflows.identity import InvalidX500NameError, MemberX500Name
from workflows.membership import StaticNetwork
from workflows.registry import FlowRegistry

if TYPE_CHECKING:
    from app.dev import DevConfig

logger = logging.getLogger("app.cli")

DEFAULT_STATE_DIR = Path(".accord")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def main(argv: Sequence[str] | None = None) -> NoReturn:
    """Run the ``accord`` command and end the process with its exit code.

    Argument errors raise ``SystemExit`` with code 2 before anything starts.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    configure_logging(args.log_level)
    _add_current_folder_to_path()
    try:
        code = args.run(args)
    except KeyboardInterrupt:
        # Reached only where no signal handler is installed yet, such as during imports.
        logger.info("Interrupted")
        code = 130
    _exit_without_finalizing(code)


def _exit_without_finalizing(code: int) -> NoReturn:
    """Flush the logs and output, then end the process at once with ``code``.

    The threads of the Temporal SDK's Rust core can outlive the interpreter's
    teardown and abort it with "Fatal Python error: PyGILState_Release",
    which turns a clean stop into exit code 134 (seen with temporalio 1.35;
    https://github.com/temporalio/sdk-python/issues/300). Every command has
    stopped its workers and servers by now, so skipping teardown loses nothing.
    """
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def build_parser() -> argparse.ArgumentParser:
    """Build the parser of ``accord`` and its three subcommands."""
    parser = argparse.ArgumentParser(
        prog="accord",
        description="Run Corda 5-style flows as durable Temporal workflows.",
    )
    commands = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--log-level",
        type=str.upper,
        choices=LOG_LEVELS,
        default=os.environ.get("ACCORD_LOG_LEVEL", "INFO").upper(),
        help="lowest level of the log records written to stderr (default: ACCORD_LOG_LEVEL or INFO)",
    )
    common.add_argument(
        "--network",
        type=Path,
        metavar="FILE",
        help="static network JSON file (default: ACCORD_NETWORK, else the packaged network "
        "of Alice, Bob, Charlie and a notary)",
    )

    _add_dev_parser(commands, common)
    _add_worker_parser(commands, common)
    _add_api_parser(commands, common)
    return parser


def _add_dev_parser(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    dev = commands.add_parser(
        "dev",
        parents=[common],
        help="run the embedded stack: Temporal dev server, one worker per vnode, REST API",
        description="Run a Temporal dev server, one worker process per vnode of the network and the "
        "REST API, all on 127.0.0.1, until Ctrl-C or SIGTERM.",
    )
    dev.add_argument(
        "--state-dir",
        type=Path,
        default=DEFAULT_STATE_DIR,
        metavar="DIR",
        help="folder for the Temporal SQLite database and the server log (default: .accord)",
    )
    dev.add_argument(
        "--temporal-port", type=_port, metavar="PORT", default=7233, help="Temporal frontend gRPC port (default: 7233)"
    )
    dev.add_argument("--ui-port", type=_port, metavar="PORT", default=8233, help="Temporal Web UI port (default: 8233)")
    dev.add_argument("--api-port", type=_port, metavar="PORT", default=8888, help="REST API port (default: 8888)")
    dev.add_argument(
        "--demo",
        action="store_true",
        help="once everything runs, start the sample flows through the REST API and print a table of their outcomes",
    )
    dev.add_argument(
        "--exit-after-demo",
        action="store_true",
        help="with --demo, stop after the table; exit 0 only if every demo flow ended as expected",
    )
    dev.set_defaults(run=run_dev, parser=dev)


def _add_worker_parser(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    worker = commands.add_parser(
        "worker",
        parents=[common],
        help="run the workers of vnodes against TEMPORAL_ADDRESS",
        description="Run one Temporal worker per vnode against TEMPORAL_ADDRESS and TEMPORAL_NAMESPACE, "
        "until Ctrl-C or SIGTERM, then shut down gracefully.",
    )
    worker.add_argument(
        "--vnode",
        action="append",
        metavar="NAME",
        help="vnode to run, as its X.500 name, common name or short hash; repeat for more "
        "(default: every member of the network)",
    )
    worker.set_defaults(run=run_worker, parser=worker)


def _add_api_parser(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    api = commands.add_parser(
        "api",
        parents=[common],
        help="serve the REST API against TEMPORAL_ADDRESS",
        description="Serve the Corda 5 REST API under /api/v5_2 with uvicorn, starting and reading "
        "flows on TEMPORAL_ADDRESS and TEMPORAL_NAMESPACE.",
    )
    api.add_argument("--host", help="address to listen on (default: ACCORD_API_HOST or 127.0.0.1)")
    api.add_argument("--port", type=_port, metavar="PORT", help="port to listen on (default: ACCORD_API_PORT or 8888)")
    api.set_defaults(run=run_api, parser=api)


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid port {text!r}; use a number from 1 to 65535") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"invalid port {port}; use a number from 1 to 65535")
    return port


# accord dev


def run_dev(args: argparse.Namespace) -> int:
    """Check the arguments and the CorDapps, then run the embedded stack until stopped."""
    from app.demo import DemoNetworkError, demo_flows
    from app.dev import DevConfig

    parser: argparse.ArgumentParser = args.parser
    settings = Settings.from_environment()
    if args.exit_after_demo and not args.demo:
        parser.error("--exit-after-demo needs --demo")
    network_file = args.network or settings.network_file
    network = _load_network(parser, network_file)
    if args.demo:
        try:
            demo_flows(network)
        except DemoNetworkError as error:
            parser.error(str(error))
    if not _cordapps_load(network):
        return 1

    config = DevConfig(
        state_dir=args.state_dir.resolve(),
        network=network,
        network_file=network_file.resolve() if network_file is not None else None,
        namespace=settings.temporal_namespace,
        temporal_port=args.temporal_port,
        ui_port=args.ui_port,
        api_port=args.api_port,
        log_level=args.log_level,
    )
    return asyncio.run(_serve_dev(config, demo=args.demo, exit_after_demo=args.exit_after_demo))


async def _serve_dev(config: DevConfig, *, demo: bool, exit_after_demo: bool) -> int:
    from app.dev import serve

    return await serve(config, stop_event_on_signals(), demo=demo, exit_after_demo=exit_after_demo)


def _cordapps_load(network: StaticNetwork) -> bool:
    """Import every member's CorDapps here first, so a bad one fails before any process starts."""
    ok = True
    for member in network.members:
        try:
            FlowRegistry.load(member.cordapps)
        except FlowRegistrationError as error:
            logger.error("CorDapps of %s are invalid, so nothing was started. %s", member.name, error)
            ok = False
    return ok


# accord worker


def run_worker(args: argparse.Namespace) -> int:
    """Run the workers of the chosen vnodes until SIGTERM or Ctrl-C."""
    parser: argparse.ArgumentParser = args.parser
    settings = Settings.from_environment()
    network = _load_network(parser, args.network or settings.network_file)
    try:
        vnodes = resolve_vnodes(network, args.vnode)
    except ValueError as error:
        parser.error(str(error))
    # With one vnode, every record of this process belongs to it.
    context = log_context(vnode=str(vnodes[0])) if len(vnodes) == 1 else contextlib.nullcontext()
    with context:
        return asyncio.run(_serve_workers(settings, network, vnodes))


def resolve_vnodes(network: StaticNetwork, names: Sequence[str] | None) -> list[MemberX500Name]:
    """Find the members that ``names`` refer to, by X.500 name, common name or short hash.

    Returns:
        The members' names, in the order given, without repeats; every member when ``names`` is empty.

    Raises:
        ValueError: A name matches no member, or a common name matches several;
            the message lists the network's vnodes.
    """
    if not names:
        return [member.name for member in network.members]
    found: list[MemberX500Name] = []
    for name in names:
        member = _find_member(network, name)
        if member not in found:
            found.append(member)
    return found


def _find_member(network: StaticNetwork, text: str) -> MemberX500Name:
    by_hash = network.member_by_short_hash(text) if len(text) == 12 else None
    if by_hash is not None:
        return by_hash.name
    try:
        by_name = network.member(text)
    except InvalidX500NameError:
        by_name = None
    if by_name is not None:
        return by_name.name

    by_common_name = [member for member in network.members if (member.name.common_name or "").lower() == text.lower()]
    if len(by_common_name) == 1:
        return by_common_name[0].name
    known = "; ".join(f"{member.name} ({network.short_hash(member.name)})" for member in network.members)
    if by_common_name:
        raise ValueError(f"Vnode {text!r} matches several members; give the full X.500 name. Vnodes: {known}")
    raise ValueError(f"Unknown vnode {text!r} in network group {network.group_id}. Vnodes: {known}")


async def _serve_workers(settings: Settings, network: StaticNetwork, vnodes: list[MemberX500Name]) -> int:
    from app.worker import connect, run_workers

    stop = stop_event_on_signals()
    try:
        client = await connect(settings.temporal_address, settings.temporal_namespace)
    except RuntimeError as error:
        logger.error(
            "Cannot connect to Temporal at %s, namespace %s: %s. Start a server (accord dev runs one) "
            "or set TEMPORAL_ADDRESS and TEMPORAL_NAMESPACE",
            settings.temporal_address,
            settings.temporal_namespace,
            error,
        )
        return 1
    try:
        await run_workers(client, network, vnodes, stop)
    except (FlowRegistrationError, RuntimeError) as error:
        logger.error("Workers stopped: %s", error)
        return 1
    logger.info("Workers stopped")
    return 0


# accord api


def run_api(args: argparse.Namespace) -> int:
    """Serve the REST API with uvicorn until SIGTERM or Ctrl-C."""
    import uvicorn

    from app.api.main import create_app

    parser: argparse.ArgumentParser = args.parser
    settings = Settings.from_environment()
    network_file = args.network or settings.network_file
    network = _load_network(parser, network_file)
    settings = dataclasses.replace(
        settings,
        network_file=network_file,
        api_host=args.host or settings.api_host,
        api_port=args.port or settings.api_port,
    )

    try:
        app = create_app(settings, network)
    except FlowRegistrationError as error:
        logger.error("Cannot serve the REST API: %s", error)
        return 1
    # log_config=None hands uvicorn's records to the root logger, so they get Accord's format.
    server = uvicorn.Server(uvicorn.Config(app, host=settings.api_host, port=settings.api_port, log_config=None))
    logger.info("Serving the REST API on http://%s:%d/api/v5_2", settings.api_host, settings.api_port)
    try:
        server.run()
    except KeyboardInterrupt:
        # uvicorn re-raises the Ctrl-C it handled, once it has shut down.
        pass
    return 0 if server.started else 1


# Shared helpers


def _load_network(parser: argparse.ArgumentParser, path: Path | None) -> StaticNetwork:
    try:
        return load_network(path)
    except NetworkFileError as error:
        parser.error(str(error))


def stop_event_on_signals() -> asyncio.Event:
    """Return an event that SIGINT or SIGTERM sets; call it inside the running event loop."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()

    def request_stop(signal_name: str) -> None:
        if stop.is_set():
            logger.info("Received %s while stopping; still stopping", signal_name)
            return
        logger.info("Received %s; stopping", signal_name)
        stop.set()

    for number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(number, request_stop, number.name)
    return stop


def _add_current_folder_to_path() -> None:
    # The ``accord`` script puts its own folder first on sys.path, where
    # ``python -m`` puts the current one. A CorDapp named in a network file
    # may be a module in the current folder, so add that folder too.
    folder = os.getcwd()
    if folder not in sys.path and "" not in sys.path:
        sys.path.insert(0, folder)
