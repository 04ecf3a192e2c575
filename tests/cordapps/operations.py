"""External operations of the test CorDapp: side effects on files under a folder the test chooses."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel

from workflows import CordaRuntimeException
from workflows.external import OperationContext, external_operation


class CountRequest(BaseModel):
    folder: str
    fail_times: int = 0
    reject: bool = False


@external_operation
def record_call(request: CountRequest, context: OperationContext) -> int:
    """Append this attempt to ``calls.jsonl`` in the folder; fail the first ``fail_times`` attempts."""
    log = Path(request.folder) / "calls.jsonl"
    with log.open("a") as file:
        file.write(json.dumps({"key": context.idempotency_key, "attempt": context.attempt}) + "\n")
    if request.reject:
        raise CordaRuntimeException("the ledger service rejected the request")
    if context.attempt <= request.fail_times:
        raise OSError(f"service unavailable on attempt {context.attempt}")
    return sum(1 for _ in log.open())


@external_operation
async def double(number: int) -> int:
    return number * 2
