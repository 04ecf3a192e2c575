"""Payload serialisation, type checks and size limits of session messages."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from workflows import ClientRequestBody, CordaRuntimeException, MemberX500Name
from workflows.errors import PayloadSerializationException, PayloadTypeMismatchException
from workflows.payloads import MAX_MESSAGE_BYTES, check_size, decode, encode


class Offer(BaseModel):
    amount: int


class Invoice(BaseModel):
    number: str


def round_trip(value: Any, expected: Any) -> Any:
    type_name, text = encode(value)
    return decode(expected, type_name, text, context="in a test")


def test_primitives_round_trip() -> None:
    assert round_trip(5, int) == 5
    assert round_trip("text", str) == "text"
    assert round_trip(None, type(None)) is None
    assert round_trip([1, 2], list[int]) == [1, 2]
    assert round_trip({"a": 1}, dict[str, int]) == {"a": 1}


def test_int_is_accepted_as_float() -> None:
    assert round_trip(3, float) == 3.0


def test_member_name_round_trips() -> None:
    name = MemberX500Name.parse("CN=Bob, OU=Test Dept, O=R3, L=London, C=GB")

    assert round_trip(name, MemberX500Name) == name


def test_bytes_travel_as_base64() -> None:
    assert round_trip(b"\x00\xff", bytes) == b"\x00\xff"


def test_model_of_other_type_is_rejected_naming_both() -> None:
    with pytest.raises(PayloadTypeMismatchException, match=r"Expected to receive .*Invoice but received .*Offer"):
        round_trip(Offer(amount=5), Invoice)


def test_primitive_of_other_type_is_rejected() -> None:
    with pytest.raises(PayloadTypeMismatchException, match="Expected to receive int but received str"):
        round_trip("5", int)


def test_union_accepts_any_member() -> None:
    assert round_trip(Offer(amount=1), Offer | Invoice) == Offer(amount=1)


def test_any_accepts_everything() -> None:
    assert round_trip({"amount": 1}, Any) == {"amount": 1}


def test_unserialisable_value_names_its_type() -> None:
    class Opaque:
        pass

    with pytest.raises(PayloadSerializationException, match="Cannot serialise a payload of type .*Opaque"):
        encode(Opaque())


def test_size_over_limit_names_size() -> None:
    with pytest.raises(PayloadSerializationException, match=f"is {MAX_MESSAGE_BYTES} bytes encoded"):
        check_size(MAX_MESSAGE_BYTES, what="The message")


def test_size_under_limit_passes() -> None:
    check_size(MAX_MESSAGE_BYTES // 2, what="The message")


def test_request_body_coerces_numeric_strings() -> None:
    body = ClientRequestBody('{"amount": "20"}')

    assert body.get_request_body_as(Offer) == Offer(amount=20)


def test_request_body_list_and_map() -> None:
    assert ClientRequestBody("[1, 2]").get_request_body_as_list(int) == [1, 2]
    assert ClientRequestBody('{"a": "3"}').get_request_body_as_map(str, int) == {"a": 3}


def test_request_body_reports_missing_field() -> None:
    with pytest.raises(CordaRuntimeException, match="amount: Field required"):
        ClientRequestBody("{}").get_request_body_as(Offer)


def test_request_body_reports_invalid_json() -> None:
    with pytest.raises(CordaRuntimeException, match="The request body is not valid JSON"):
        ClientRequestBody("{oops").get_request_body_as(Offer)
