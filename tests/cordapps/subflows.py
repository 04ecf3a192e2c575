"""Flows of the test CorDapp that run subflows, read context properties and call external operations."""

from __future__ import annotations

from pydantic import BaseModel

from workflows import (
    ClientRequestBody,
    ClientStartableFlow,
    CordaRuntimeException,
    FlowEngine,
    FlowMessaging,
    FlowSession,
    ResponderFlow,
    SubFlow,
    initiated_by,
    initiating_flow,
)

from tests.cordapps.models import EchoRequest, PeersRequest


class QuoteRejected(Exception):
    """A business failure a subflow raises and its parent catches."""


class EchoRounds(BaseModel):
    counterparty: str
    before: int = 1
    inside: int = 2
    after: int = 1
    fail_inside: bool = False
    local_error: bool = False


class ExchangeSubFlow(SubFlow[list[str]]):
    """Exchanges messages on a session its parent lends it."""

    def __init__(self, session: FlowSession, rounds: int, prefix: str, fail: bool = False, local_error: bool = False):
        self.session = session
        self.rounds = rounds
        self.prefix = prefix
        self.fail = fail
        self.local_error = local_error

    async def call(self) -> list[str]:
        replies = [await self.session.send_and_receive(str, f"{self.prefix}{index}") for index in range(self.rounds)]
        if self.local_error:

            class LocalError(Exception):
                pass

            raise LocalError("raised by a class the parent cannot load")
        if self.fail:
            raise QuoteRejected(f"rejected after {replies}")
        return replies


@initiating_flow(protocol="test.echo-loop")
class HandOverFlow(ClientStartableFlow):
    """Talks on one session before, inside and after a subflow given that session."""

    flow_messaging: FlowMessaging
    flow_engine: FlowEngine

    async def call(self, request_body: ClientRequestBody) -> list[str]:
        request = request_body.get_request_body_as(EchoRounds)
        session = self.flow_messaging.initiate_flow(request.counterparty)
        replies = [await session.send_and_receive(str, f"before{index}") for index in range(request.before)]
        try:
            replies += await self.flow_engine.sub_flow(
                ExchangeSubFlow(session, request.inside, "inside", fail=request.fail_inside, local_error=request.local_error)
            )
        except QuoteRejected as error:
            replies.append(f"caught QuoteRejected: {error}")
        except CordaRuntimeException as error:
            replies.append(f"caught CordaRuntimeException: {error}")
        replies += [await session.send_and_receive(str, f"after{index}") for index in range(request.after)]
        await session.send("stop")
        return replies


@initiated_by(protocol="test.echo-loop")
class EchoLoopResponder(ResponderFlow):
    async def call(self, session: FlowSession) -> None:
        while (message := await session.receive(str)) != "stop":
            await session.send(f"echo {message}")


class ReceiveOneSubFlow(SubFlow[str]):
    def __init__(self, session: FlowSession) -> None:
        self.session = session

    async def call(self) -> str:
        return await self.session.receive(str)


class SendOneSubFlow(SubFlow[None]):
    def __init__(self, session: FlowSession, message: str) -> None:
        self.session = session
        self.message = message

    async def call(self) -> None:
        await self.session.send(self.message)


@initiating_flow(protocol="test.echo-loop.handover")
class ReceiveInSubFlowFlow(ClientStartableFlow):
    """Sends, lets a subflow receive the reply (in flight at hand-over), then sends from a subflow that ends at once."""

    flow_messaging: FlowMessaging
    flow_engine: FlowEngine

    async def call(self, request_body: ClientRequestBody) -> list[str]:
        request = request_body.get_request_body_as(EchoRequest)
        session = self.flow_messaging.initiate_flow(request.counterparty)
        await session.send("ping")
        first = await self.flow_engine.sub_flow(ReceiveOneSubFlow(session))
        await self.flow_engine.sub_flow(SendOneSubFlow(session, "from child"))
        second = await session.receive(str)
        second_child = await self.flow_engine.sub_flow(ReceiveOneSubFlow(session))  # receives first: route message
        third = second_child
        await session.send("stop")
        return [first, second, third]


@initiated_by(protocol="test.echo-loop.handover")
class DoubleReplyResponder(ResponderFlow):
    """Replies to ping once, and to the child's message twice."""

    async def call(self, session: FlowSession) -> None:
        await session.send(f"echo {await session.receive(str)}")
        message = await session.receive(str)
        await session.send(f"echo {message}")
        await session.send(f"again {message}")
        await session.receive(str)


@initiating_flow(protocol="test.ask-each")
class AskPeerSubFlow(SubFlow[str]):
    """An initiating subflow: opens its own session, which it closes on return or errors on failure."""

    flow_messaging: FlowMessaging

    def __init__(self, counterparty: str, message: str) -> None:
        self.counterparty = counterparty
        self.message = message

    async def call(self) -> str:
        session = self.flow_messaging.initiate_flow(self.counterparty)
        reply = await session.send_and_receive(str, self.message)
        if self.message == "fail":
            raise CordaRuntimeException(f"subflow gave up after {reply}")
        return reply


class AskEachFlow(ClientStartableFlow):
    """Not initiating itself: sends to every counterparty through an initiating subflow."""

    flow_engine: FlowEngine

    async def call(self, request_body: ClientRequestBody) -> list[str]:
        request = request_body.get_request_body_as(PeersRequest)
        return [await self.flow_engine.sub_flow(AskPeerSubFlow(name, "hello")) for name in request.counterparties]


class AskAndFailFlow(ClientStartableFlow):
    flow_engine: FlowEngine

    async def call(self, request_body: ClientRequestBody) -> str:
        request = request_body.get_request_body_as(EchoRequest)
        try:
            return await self.flow_engine.sub_flow(AskPeerSubFlow(request.counterparty, "fail"))
        except CordaRuntimeException as error:
            return f"caught: {error}"


@initiated_by(protocol="test.ask-each")
class AnswerThenWaitResponder(ResponderFlow):
    flow_engine: FlowEngine

    async def call(self, session: FlowSession) -> None:
        message = await session.receive(str)
        if message == "no":
            raise CordaRuntimeException(f"{self.flow_engine.virtual_node_name.common_name.lower()} says no")
        await session.send(f"{self.flow_engine.virtual_node_name.common_name} got {message}")


class OpenSessionSubFlow(SubFlow[str]):
    """Not initiating: opening a session must fail even though its parent is initiating."""

    flow_messaging: FlowMessaging

    def __init__(self, counterparty: str) -> None:
        self.counterparty = counterparty

    async def call(self) -> str:
        self.flow_messaging.initiate_flow(self.counterparty)
        return "opened"


@initiating_flow(protocol="test.nested-open")
class NestedOpenFlow(ClientStartableFlow):
    flow_engine: FlowEngine

    async def call(self, request_body: ClientRequestBody) -> str:
        request = request_body.get_request_body_as(EchoRequest)
        return await self.flow_engine.sub_flow(OpenSessionSubFlow(request.counterparty))


class RelayRequest(BaseModel):
    counterparties: list[str]
    message: str = "relayed"


@initiating_flow(protocol="test.relay")
class RelayFlow(ClientStartableFlow):
    """Sends to Bob, whose responder forwards the message to Charlie through an initiating subflow."""

    flow_messaging: FlowMessaging

    async def call(self, request_body: ClientRequestBody) -> str:
        request = request_body.get_request_body_as(RelayRequest)
        session = self.flow_messaging.initiate_flow(request.counterparties[0])
        return await session.send_and_receive(str, [request.counterparties[1], request.message])


@initiated_by(protocol="test.relay")
class RelayResponder(ResponderFlow):
    flow_engine: FlowEngine

    async def call(self, session: FlowSession) -> None:
        next_hop, message = await session.receive(list[str])
        relayed = await self.flow_engine.sub_flow(AskPeerSubFlow(next_hop, message))
        await session.send(f"relay: {relayed}")


class WaitForeverSubFlow(SubFlow[str]):
    def __init__(self, session: FlowSession) -> None:
        self.session = session

    async def call(self) -> str:
        return await self.session.receive(str)


@initiated_by(protocol="test.silent.subflow")
class SilentToSubFlowResponder(ResponderFlow):
    async def call(self, session: FlowSession) -> None:
        await session.receive(str)
        await session.receive(str)


@initiating_flow(protocol="test.silent.subflow")
class SilentInSubFlowFlow(ClientStartableFlow):
    """Lends its session to a subflow that waits on a silent counterparty; killed by the test."""

    flow_messaging: FlowMessaging
    flow_engine: FlowEngine

    async def call(self, request_body: ClientRequestBody) -> str:
        request = request_body.get_request_body_as(EchoRequest)
        session = self.flow_messaging.initiate_flow(request.counterparty, timeout=600)
        await session.send("anyone?")
        return await self.flow_engine.sub_flow(WaitForeverSubFlow(session))


class ContextRequest(BaseModel):
    counterparty: str
    builder_key: str = "session.key"


class ReadContextSubFlow(SubFlow[dict[str, str | None]]):
    flow_engine: FlowEngine

    async def call(self) -> dict[str, str | None]:
        properties = self.flow_engine.flow_context_properties
        seen = {"user.key": properties.get("user.key"), "corda.client.id": properties.get("corda.client.id")}
        properties.put("sub.key", "from subflow")
        return seen


@initiating_flow(protocol="test.context")
class ContextFlow(ClientStartableFlow):
    flow_messaging: FlowMessaging
    flow_engine: FlowEngine

    async def call(self, request_body: ClientRequestBody) -> dict[str, object]:
        request = request_body.get_request_body_as(ContextRequest)
        properties = self.flow_engine.flow_context_properties
        properties.put("user.key", "parent")
        seen_in_subflow = await self.flow_engine.sub_flow(ReadContextSubFlow())

        def add_session_key(copy) -> None:
            copy.put(request.builder_key, "builder")

        session = self.flow_messaging.initiate_flow(request.counterparty, context=add_session_key)
        properties.put("late.key", "after initiate_flow")
        responder_view = await session.send_and_receive(dict[str, dict[str, str]], "what do you see?")
        return {
            "subflow": seen_in_subflow,
            "parent_after_subflow": properties.get("sub.key"),
            "initiator_session": session.context_properties.to_dict(),
            "responder": responder_view,
        }


@initiated_by(protocol="test.context")
class ContextResponder(ResponderFlow):
    flow_engine: FlowEngine

    async def call(self, session: FlowSession) -> None:
        await session.receive(str)
        await session.send(
            {
                "flow": self.flow_engine.flow_context_properties.to_dict(),
                "session": session.context_properties.to_dict(),
            }
        )


class OperationRequest(BaseModel):
    folder: str
    fail_times: int = 0
    reject: bool = False
    operation: str = "tests.cordapps.operations.record_call"
    maximum_attempts: int = 5


class OperationFlow(ClientStartableFlow):
    flow_engine: FlowEngine

    async def call(self, request_body: ClientRequestBody) -> str:
        request = request_body.get_request_body_as(OperationRequest)
        count = await self.flow_engine.execute_external_operation(
            request.operation,
            {"folder": request.folder, "fail_times": request.fail_times, "reject": request.reject},
            result_type=int,
            maximum_attempts=request.maximum_attempts,
        )
        doubled = await self.flow_engine.execute_external_operation(
            "tests.cordapps.operations.double", count, result_type=int
        )
        return f"{count} {doubled}"


class RecoverRequest(BaseModel):
    counterparty: str
    catch: bool = True


@initiating_flow(protocol="test.sub-fail")
class SendThenFailSubFlow(SubFlow[str]):
    """Opens a session, sends once and raises, leaving its responder waiting for a second message."""

    flow_messaging: FlowMessaging

    def __init__(self, counterparty: str) -> None:
        self.counterparty = counterparty

    async def call(self) -> str:
        session = self.flow_messaging.initiate_flow(self.counterparty)
        await session.send("first of two")
        raise CordaRuntimeException("sub failed")


@initiated_by(protocol="test.sub-fail")
class WaitForTwoResponder(ResponderFlow):
    async def call(self, session: FlowSession) -> None:
        await session.receive(str)
        await session.receive(str)


@initiating_flow(protocol="test.echo", version=(2,))
class RecoveringParentFlow(ClientStartableFlow):
    """Catches a failed subflow, then echoes with the same counterparty on a new session."""

    flow_messaging: FlowMessaging
    flow_engine: FlowEngine

    async def call(self, request_body: ClientRequestBody) -> str:
        request = request_body.get_request_body_as(RecoverRequest)
        try:
            await self.flow_engine.sub_flow(SendThenFailSubFlow(request.counterparty))
        except CordaRuntimeException:
            if not request.catch:
                raise
        session = self.flow_messaging.initiate_flow(request.counterparty)
        echoed = await session.send_and_receive(str, "recovered")
        return echoed
