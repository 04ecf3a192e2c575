"""Flow registration: valid CorDapps load, invalid definitions are all reported in one error."""

from __future__ import annotations

import pytest

from workflows import FlowRegistrationError
from workflows.registry import FlowRegistry


@pytest.fixture(scope="module")
def registration_error() -> str:
    with pytest.raises(FlowRegistrationError) as caught:
        FlowRegistry.load(["tests.cordapps.broken"])
    return str(caught.value)


def test_sample_cordapps_register_their_flows() -> None:
    registry = FlowRegistry.load(["cordapps.quotes", "cordapps.conversation"])

    assert sorted(registry.startable) == [
        "cordapps.conversation.ConversationFlow",
        "cordapps.quotes.RequestQuotesFlow",
    ]
    assert registry.negotiate("accord.samples.quotes", [1]) is not None
    assert len(registry.workflow_classes()) == 6


def test_negotiation_picks_highest_common_version() -> None:
    registry = FlowRegistry.load(["tests.cordapps.responders"])

    responder, version = registry.negotiate("test.versions", [1, 2, 3])

    assert responder.__name__ == "VersionTwoResponder"
    assert version == 2


def test_negotiation_without_common_version_returns_none() -> None:
    registry = FlowRegistry.load(["tests.cordapps.responders"])

    assert registry.negotiate("test.versions", [3, 4]) is None
    assert registry.negotiate("no.such.protocol", [1]) is None


def test_responder_without_initiated_by_is_reported(registration_error: str) -> None:
    assert "ResponderWithoutProtocol is a ResponderFlow without @initiated_by" in registration_error


def test_duplicate_responders_name_both_classes(registration_error: str) -> None:
    assert "Protocol 'broken.duplicate' version 1 has two responders" in registration_error
    assert "FirstDuplicateResponder and tests.cordapps.broken.SecondDuplicateResponder" in registration_error


def test_initiated_by_on_startable_flow_is_reported(registration_error: str) -> None:
    assert "StartableMarkedAsResponder is marked @initiated_by but is not a ResponderFlow" in registration_error


def test_bad_protocol_and_versions_are_reported(registration_error: str) -> None:
    assert "BadProtocolFlow declares protocol ''" in registration_error
    assert "BadProtocolFlow declares versions [0, '2']" in registration_error


def test_synchronous_call_is_reported(registration_error: str) -> None:
    assert "SynchronousCallFlow.call is not async" in registration_error


def test_constructor_arguments_are_reported(registration_error: str) -> None:
    assert "ConstructorArgumentFlow needs a constructor without arguments" in registration_error


def test_nested_flow_class_is_reported(registration_error: str) -> None:
    assert "tests.cordapps.broken.Outer.NestedFlow is defined inside another class" in registration_error


def test_every_problem_is_in_one_message(registration_error: str) -> None:
    assert registration_error.count("\n  - ") == 8


def test_unimportable_module_is_reported() -> None:
    with pytest.raises(FlowRegistrationError, match="'tests.cordapps.missing' cannot be imported: ModuleNotFoundError"):
        FlowRegistry.load(["tests.cordapps.missing"])
