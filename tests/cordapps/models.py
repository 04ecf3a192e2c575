"""Requests and payloads of the test CorDapps."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict


class EchoRequest(BaseModel):
    counterparty: str
    message: str = "hi"
    timeout_seconds: float | None = None
    require_close: bool = True


class ThrowRequest(BaseModel):
    counterparty: str
    message: str
    internal: bool = False
    catch: bool = False


class ThrowOrder(BaseModel):
    message: str
    internal: bool


class BurstRequest(BaseModel):
    counterparty: str
    count: int = 20
    responder_delay_seconds: float = 0


class BurstHeader(BaseModel):
    count: int
    delay_seconds: float


class CloseRequest(BaseModel):
    counterparty: str
    close_twice: bool = False
    send_after_close: bool = False
    catch_send_after_close: bool = False
    receive_after_reply: bool = False


class Offer(BaseModel):
    amount: int


class Invoice(BaseModel):
    number: str


class Part(BaseModel):
    label: str
    weight: Decimal


class RichPayload(BaseModel):
    model_config = ConfigDict(ser_json_bytes="base64", val_json_bytes="base64")

    when: datetime
    amount: Decimal
    reference: uuid.UUID
    blob: bytes
    tags: set[str]
    count: int
    text: str
    part: Part


class SizeRequest(BaseModel):
    counterparty: str
    size: int


class AmountRequest(BaseModel):
    amount: int
    counterparty: str | None = None


class PeersRequest(BaseModel):
    counterparties: list[str]
