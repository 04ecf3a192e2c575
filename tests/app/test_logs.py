"""``configure_logging``: one line per record, with flow_id, vnode and session_id on every one."""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Iterator

import pytest

from app.logs import configure_logging, log_context

LINE = re.compile(
    r"^(?P<time>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) (?P<level>[A-Z]+) +(?P<logger>\S+) "
    r"flow_id=(?P<flow_id>.+) vnode=(?P<vnode>.+) session_id=(?P<session_id>\S+) (?P<message>.*)$"
)


@pytest.fixture
def output() -> Iterator[io.StringIO]:
    """Install Accord's logging on a string buffer, and restore the root logger afterwards."""
    root = logging.getLogger()
    handlers = list(root.handlers)
    level = root.level
    httpx_level = logging.getLogger("httpx").level
    stream = io.StringIO()
    configure_logging("INFO", stream=stream)
    yield stream
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)
    logging.getLogger("httpx").setLevel(httpx_level)


def parsed_lines(stream: io.StringIO) -> list[dict[str, str]]:
    lines = stream.getvalue().splitlines()
    matches = [LINE.match(line) for line in lines]
    assert all(matches), f"Lines not in Accord's format: {lines}"
    return [match.groupdict() for match in matches if match]


def test_record_without_ids_shows_dashes(output: io.StringIO) -> None:
    logging.getLogger("some.library").warning("Disk %s is full", "/var")

    [line] = parsed_lines(output)
    assert line["level"] == "WARNING"
    assert line["logger"] == "some.library"
    assert line["flow_id"] == "-"
    assert line["vnode"] == "-"
    assert line["session_id"] == "-"
    assert line["message"] == "Disk /var is full"


def test_extra_ids_appear_on_line(output: io.StringIO) -> None:
    logging.getLogger("activities.messaging").info(
        "Started responder",
        extra={"flow_id": "f-1", "vnode": "CN=Bob, O=R3, L=London, C=GB", "session_id": "s-1"},
    )

    [line] = parsed_lines(output)
    assert line["flow_id"] == "f-1"
    assert line["vnode"] == "CN=Bob, O=R3, L=London, C=GB"
    assert line["session_id"] == "s-1"


def test_log_context_applies_inside_block_only(output: io.StringIO) -> None:
    logger = logging.getLogger("app.api")
    with log_context(flow_id="f-2", vnode="AEFB0671801B"):
        logger.info("inside")
        logger.info("explicit", extra={"flow_id": "f-3"})
    logger.info("outside")

    inside, explicit, outside = parsed_lines(output)
    assert inside["flow_id"] == "f-2"
    assert inside["vnode"] == "AEFB0671801B"
    assert inside["session_id"] == "-"
    assert explicit["flow_id"] == "f-3"
    assert explicit["vnode"] == "AEFB0671801B"
    assert outside["flow_id"] == "-"
    assert outside["vnode"] == "-"


def test_temporal_task_queue_gives_vnode(output: io.StringIO) -> None:
    logging.getLogger("temporalio.workflow").info(
        "Completing workflow",
        extra={"temporal_workflow": {"task_queue": "vnode-AEFB0671801B", "workflow_id": "AEFB0671801B/x"}},
    )
    logging.getLogger("temporalio.activity").info(
        "Running activity", extra={"temporal_activity": {"task_queue": "other-queue"}}
    )

    workflow_line, activity_line = parsed_lines(output)
    assert workflow_line["vnode"] == "AEFB0671801B"
    assert workflow_line["flow_id"] == "-"
    assert activity_line["vnode"] == "-"


def test_configure_twice_keeps_one_handler(output: io.StringIO) -> None:
    second = io.StringIO()
    configure_logging("DEBUG", stream=second)
    logging.getLogger("app").debug("once")

    accord_handlers = [handler for handler in logging.getLogger().handlers if handler.get_name() == "accord"]
    assert len(accord_handlers) == 1
    assert output.getvalue() == ""
    assert len(parsed_lines(second)) == 1


def test_level_filters_lower_records(output: io.StringIO) -> None:
    logging.getLogger("app").debug("hidden")
    logging.getLogger("app").info("shown")

    [line] = parsed_lines(output)
    assert line["message"] == "shown"


def test_invalid_level_raises() -> None:
    with pytest.raises(ValueError, match="Invalid log level 'LOUD'"):
        configure_logging("LOUD")


def test_log_context_rejects_unknown_field() -> None:
    with pytest.raises(ValueError, match="Unknown log context fields"):
        with log_context(workflow_id="x"):
            pass
