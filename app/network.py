"""Loading the static network file.

The packaged default, ``app/networks/default.json``, defines Alice, Bob,
Charlie and the notary vnode NotaryRep1 in the group ``accord-dev-group``. Its
only REST user, ``admin`` with password ``admin``, is a development
placeholder.
"""

from __future__ import annotations

import json
import logging
import os
import pathlib
from collections.abc import Callable
from importlib import resources
from typing import Any

from pydantic import ValidationError

from workflows.membership import InvalidNetworkError, StaticNetwork

__all__ = ["DEFAULT_NETWORK_RESOURCE", "NetworkFileError", "load_network"]

logger = logging.getLogger(__name__)

DEFAULT_NETWORK_RESOURCE = "networks/default.json"
"""Path of the default network file inside the ``app`` package."""


class NetworkFileError(ValueError):
    """A network file that is missing, unreadable, not JSON or not a valid static network.

    Attributes:
        path: The file, as given or as the packaged resource was found.
        summary: The reason, worded to follow "Network file <path>", such as "was not found".
        details: One line per problem. For an invalid network each line
            names the field, in the JSON key spelling, and what is wrong with it.
    """

    def __init__(self, path: str, summary: str, details: list[str] | None = None) -> None:
        self.path = path
        self.summary = summary
        self.details = list(details or [])
        message = f"Network file {path} {summary}"
        if self.details:
            message += ":\n" + "\n".join(f"  {line}" for line in self.details)
        super().__init__(message)

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.path, self.summary, self.details))


def load_network(path: str | os.PathLike[str] | None = None) -> StaticNetwork:
    """Read and validate a static network file.

    Args:
        path: The JSON network file. None reads the packaged default network.

    Returns:
        The validated network.

    Raises:
        NetworkFileError: If the file is missing or unreadable, is not JSON,
            or does not describe a valid network. The message names the file
            and lists every invalid field.
    """
    if path is None:
        resource = resources.files("app").joinpath(DEFAULT_NETWORK_RESOURCE)
        source = str(resource)
        text = _read_text(resource.read_text, source)
    else:
        source = os.fspath(path)
        text = _read_text(pathlib.Path(source).read_text, source)

    data = _parse_json(text, source)
    network = _validate(data, source)
    logger.debug(
        "Loaded static network %s from %s with %d members",
        network.group_id,
        source,
        len(network.members),
    )
    return network


def _read_text(read: Callable[..., str], source: str) -> str:
    try:
        return read(encoding="utf-8")
    except FileNotFoundError:
        raise NetworkFileError(
            source,
            "was not found, so check the path, "
            "or pass no path to use the packaged default network",
        ) from None
    except UnicodeDecodeError as error:
        raise NetworkFileError(source, f"is not UTF-8 text: {error}") from None
    except OSError as error:
        raise NetworkFileError(source, f"cannot be read: {error.strerror or error}") from None


def _parse_json(text: str, source: str) -> Any:
    try:
        return json.loads(text, object_pairs_hook=_reject_duplicate_keys)
    except json.JSONDecodeError as error:
        raise NetworkFileError(
            source,
            f"is not valid JSON: {error.msg} at line {error.lineno} column {error.colno}",
        ) from None
    except _DuplicateKeyError as error:
        raise NetworkFileError(source, f"is not a valid network: {error}") from None


class _DuplicateKeyError(ValueError):
    pass


def _reject_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # json.loads silently keeps the last of two equal keys, which would hide
    # an edit made to the wrong copy.
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKeyError(f"the key {key!r} appears twice in one object")
        result[key] = value
    return result


def _validate(data: Any, source: str) -> StaticNetwork:
    try:
        return StaticNetwork.model_validate(data)
    except ValidationError as error:
        details = []
        for item in error.errors(include_url=False):
            details.extend(_describe_error(item))
        raise NetworkFileError(source, "is not a valid network", details) from None


def _describe_error(error: Any) -> list[str]:
    location = _format_location(error["loc"])
    if error["type"] != "value_error":
        return [f"{location}: {error['msg']}"]

    # Our validators raise complete sentences, so pydantic's "Value error, "
    # prefix is dropped. Each network-wide problem gets a line of its own.
    cause = error["ctx"]["error"]
    if isinstance(cause, InvalidNetworkError):
        return [f"{location}: {problem}" for problem in cause.problems]
    return [f"{location}: {cause}"]


def _format_location(location: tuple[str | int, ...]) -> str:
    """Write a pydantic error location as a JSON path, such as ``members[1].name``."""
    if not location:
        return "(network)"
    text = str(location[0])
    for part in location[1:]:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}"
    return text
