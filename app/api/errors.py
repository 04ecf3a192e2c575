"""Error responses in Corda's shape: ``{"title": str, "status": int, "details": {str: str}}``.

Every error the API returns has this body: the ones handlers raise as
:class:`ApiError`, FastAPI's request validation (400 here, where FastAPI
returns 422), Starlette's unknown routes and methods, an unreachable Temporal
server (503) and any unexpected failure (500).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from temporalio.service import RPCError, RPCStatusCode

from app.api.models import ErrorResponse

logger = logging.getLogger(__name__)

_UNREACHABLE_STATUSES = (RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED)

_RESPONSE_DESCRIPTIONS = {
    400: "Invalid short hash, clientRequestId, flow class, status filter or request body",
    404: "No virtual node with that short hash, or no flow with that clientRequestId",
    409: "A flow with that clientRequestId was already started on the virtual node",
    503: "The Temporal server is unreachable",
}


class ApiError(Exception):
    """An error that a handler or dependency raises, so that the app responds with ``status`` and a Corda error body."""

    def __init__(self, status: int, title: str, details: Mapping[str, str] | None = None) -> None:
        super().__init__(title)
        self.status = status
        self.title = title
        self.details = dict(details or {})


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """Document error statuses of a route in OpenAPI, each with the Corda error body.

    The ``default`` entry covers unexpected errors, and it keeps FastAPI from
    listing the 422 response that this API never sends.
    """
    responses: dict[int | str, dict[str, Any]] = {
        status: {"model": ErrorResponse, "description": _RESPONSE_DESCRIPTIONS[status]} for status in statuses
    }
    responses["default"] = {"model": ErrorResponse, "description": "Any other error, such as 500, in the same shape"}
    return responses


def install_error_handlers(app: FastAPI) -> None:
    """Make every error response of ``app`` a Corda error body."""
    app.add_exception_handler(ApiError, _handle_api_error)
    app.add_exception_handler(RequestValidationError, _handle_validation_error)
    app.add_exception_handler(StarletteHTTPException, _handle_http_exception)
    app.add_exception_handler(RPCError, _handle_rpc_error)
    app.add_exception_handler(Exception, _handle_unexpected_error)


def error_body(status: int, title: str, details: Mapping[str, str] | None = None) -> JSONResponse:
    body = ErrorResponse(title=title, status=status, details=dict(details or {}))
    return JSONResponse(body.model_dump(), status_code=status)


def temporal_unavailable(address: str, reason: str) -> ApiError:
    """Return the 503 error for a Temporal server that cannot be reached."""
    return ApiError(
        503,
        f"Temporal server at {address} is unreachable: {reason}. Check that it is running "
        "and that TEMPORAL_ADDRESS points to it, then retry",
        {"temporalAddress": address},
    )


async def _handle_api_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, ApiError)
    _log_rejection(request, error.status, error.title)
    return error_body(error.status, error.title, error.details)


async def _handle_validation_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    problems = list(error.errors())
    title = _describe_problem(problems[0]) if problems else "Invalid request"
    if len(problems) == 2:
        title += " (and 1 more problem, listed in details)"
    elif len(problems) > 2:
        title += f" (and {len(problems) - 1} more problems, listed in details)"
    details = {_location(problem["loc"]): _problem_message(problem) for problem in problems}
    _log_rejection(request, 400, title)
    return error_body(400, title, details)


async def _handle_http_exception(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, StarletteHTTPException)
    if error.status_code == 404:
        title = f"No route {request.method} {request.url.path}; the flow API is under /api/v5_2, listed at /docs"
    elif error.status_code == 405:
        title = f"Method {request.method} is not allowed on {request.url.path}; /docs lists each route's methods"
    else:
        title = str(error.detail)
    _log_rejection(request, error.status_code, title)
    response = error_body(error.status_code, title)
    response.headers.update(error.headers or {})
    return response


async def _handle_rpc_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RPCError)
    address = request.app.state.context.settings.temporal_address
    if error.status in _UNREACHABLE_STATUSES:
        unavailable = temporal_unavailable(address, error.message)
        logger.warning("%s %s failed with 503: %s", request.method, request.url.path, unavailable.title)
        return error_body(unavailable.status, unavailable.title, unavailable.details)
    logger.error(
        "%s %s failed: Temporal returned %s", request.method, request.url.path, error.status.name, exc_info=error
    )
    return error_body(
        500,
        f"Temporal server at {address} rejected the request with {error.status.name}: {error.message}. "
        "The API log has the details",
        {"temporalStatus": error.status.name},
    )


async def _handle_unexpected_error(request: Request, error: Exception) -> JSONResponse:
    logger.error("%s %s failed unexpectedly", request.method, request.url.path, exc_info=error)
    return error_body(
        500, f"Internal error while handling {request.method} {request.url.path}; the API log has the details"
    )


def _log_rejection(request: Request, status: int, title: str) -> None:
    log = logger.warning if status >= 500 else logger.info
    log("%s %s answered %d: %s", request.method, request.url.path, status, title)


def _describe_problem(problem: Mapping[str, Any]) -> str:
    """Turn one pydantic validation problem into a title that names the value and the fix."""
    location = tuple(problem.get("loc", ()))
    kind = problem.get("type")
    if kind == "json_invalid":
        reason = problem.get("ctx", {}).get("error", "malformed JSON")
        position = location[1] if len(location) > 1 else "?"
        return (
            f"Request body is not valid JSON: {reason} at character {position}. "
            "Send a JSON object with clientRequestId, flowClassName and requestBody"
        )
    if location == ("body",):
        return (
            "Request body must be a JSON object with clientRequestId, flowClassName and requestBody, "
            "sent with Content-Type: application/json"
        )
    if kind == "value_error":
        return _problem_message(problem)
    where = _describe_location(location)
    if kind == "missing":
        return f"Missing {where}; add it and resend"
    if kind == "extra_forbidden":
        return f"Unknown {where}; the fields are clientRequestId, flowClassName and requestBody"
    return f"Invalid {where}: {_problem_message(problem)}"


def _problem_message(problem: Mapping[str, Any]) -> str:
    # Our validators raise complete sentences; pydantic would prefix them with "Value error, ".
    cause = problem.get("ctx", {}).get("error")
    if problem.get("type") == "value_error" and cause is not None:
        return str(cause)
    return str(problem.get("msg", "invalid value"))


def _describe_location(location: Sequence[str | int]) -> str:
    """Name a problem's place in words, such as "field clientRequestId in the request body"."""
    if len(location) < 2:
        return _location(location)
    name = ".".join(str(part) for part in location[1:])
    if location[0] == "body":
        return f"field {name} in the request body"
    return f"{location[0]} parameter {name}"


def _location(location: Sequence[str | int]) -> str:
    """Name a problem's place, such as ``body.clientRequestId`` or ``query.status``."""
    return ".".join(str(part) for part in location) or "request"
