"""Flow definitions with every mistake registration must report; never listed in a network file."""

from __future__ import annotations

from workflows import ClientRequestBody, ClientStartableFlow, FlowSession, ResponderFlow, initiated_by, initiating_flow


class ResponderWithoutProtocol(ResponderFlow):
    async def call(self, session: FlowSession) -> None:
        return None


@initiated_by(protocol="broken.duplicate")
class FirstDuplicateResponder(ResponderFlow):
    async def call(self, session: FlowSession) -> None:
        return None


@initiated_by(protocol="broken.duplicate")
class SecondDuplicateResponder(ResponderFlow):
    async def call(self, session: FlowSession) -> None:
        return None


@initiated_by(protocol="broken.not-a-responder")
class StartableMarkedAsResponder(ClientStartableFlow):
    async def call(self, request_body: ClientRequestBody) -> str:
        return ""


@initiating_flow(protocol="", version=(0, "2"))
class BadProtocolFlow(ClientStartableFlow):
    async def call(self, request_body: ClientRequestBody) -> str:
        return ""


class SynchronousCallFlow(ClientStartableFlow):
    def call(self, request_body: ClientRequestBody) -> str:  # type: ignore[override]
        return ""


class ConstructorArgumentFlow(ClientStartableFlow):
    def __init__(self, amount: int) -> None:
        self.amount = amount

    async def call(self, request_body: ClientRequestBody) -> str:
        return str(self.amount)


class Outer:
    class NestedFlow(ClientStartableFlow):
        async def call(self, request_body: ClientRequestBody) -> str:
            return ""
