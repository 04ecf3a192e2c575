"""Initiating flows of the test CorDapp; their responders are in the responders modules."""

from __future__ import annotations

import datetime as dt
from datetime import timedelta

from workflows import (
    ClientRequestBody,
    ClientStartableFlow,
    CordaRuntimeException,
    FlowEngine,
    FlowMessaging,
    JsonMarshallingService,
    MemberLookup,
    initiating_flow,
)

from tests.cordapps.models import (
    AmountRequest,
    BurstHeader,
    BurstRequest,
    CloseRequest,
    EchoRequest,
    Offer,
    PeersRequest,
    RichPayload,
    SizeRequest,
    ThrowOrder,
    ThrowRequest,
)


@initiating_flow(protocol="test.echo")
class EchoFlow(ClientStartableFlow):
    flow_messaging: FlowMessaging

    async def call(self, request_body: ClientRequestBody) -> str:
        request = request_body.get_request_body_as(EchoRequest)
        session = self.flow_messaging.initiate_flow(
            request.counterparty, timeout=request.timeout_seconds, require_close=request.require_close
        )
        return await session.send_and_receive(str, request.message)


@initiating_flow(protocol="test.throw")
class ThrowFlow(ClientStartableFlow):
    flow_messaging: FlowMessaging

    async def call(self, request_body: ClientRequestBody) -> str:
        request = request_body.get_request_body_as(ThrowRequest)
        session = self.flow_messaging.initiate_flow(request.counterparty)
        try:
            return await session.send_and_receive(str, ThrowOrder(message=request.message, internal=request.internal))
        except CordaRuntimeException as error:
            if not request.catch:
                raise
            return f"handled: {error}"


@initiating_flow(protocol="test.burst")
class BurstFlow(ClientStartableFlow):
    flow_messaging: FlowMessaging

    async def call(self, request_body: ClientRequestBody) -> str:
        request = request_body.get_request_body_as(BurstRequest)
        session = self.flow_messaging.initiate_flow(request.counterparty)
        await session.send(BurstHeader(count=request.count, delay_seconds=request.responder_delay_seconds))
        for index in range(1, request.count + 1):
            await session.send(f"m{index}")
        return await session.receive(str)


@initiating_flow(protocol="test.burst.pair")
class InterleavedSessionsFlow(ClientStartableFlow):
    """Opens two sessions to one counterparty on one protocol and interleaves their sends."""

    flow_messaging: FlowMessaging

    async def call(self, request_body: ClientRequestBody) -> list[str]:
        request = request_body.get_request_body_as(BurstRequest)
        first = self.flow_messaging.initiate_flow(request.counterparty)
        second = self.flow_messaging.initiate_flow(request.counterparty)
        header = BurstHeader(count=request.count, delay_seconds=0)
        await self.flow_messaging.send_all(header, [first, second])
        for index in range(1, request.count + 1):
            await first.send(f"a{index}")
            await second.send(f"b{index}")
        return await self.flow_messaging.receive_all(str, [first, second])


@initiating_flow(protocol="test.close")
class CloseFlow(ClientStartableFlow):
    flow_messaging: FlowMessaging

    async def call(self, request_body: ClientRequestBody) -> str:
        request = request_body.get_request_body_as(CloseRequest)
        session = self.flow_messaging.initiate_flow(request.counterparty)
        reply = await session.send_and_receive(str, "hi")
        if request.receive_after_reply:
            return await session.receive(str)
        await session.close()
        if request.close_twice:
            await session.close()
        if request.send_after_close:
            try:
                await session.send("again")
            except CordaRuntimeException:
                if request.catch_send_after_close:
                    return "caught"
                raise
        return reply


@initiating_flow(protocol="test.close.unread")
class UnreadAtCloseFlow(ClientStartableFlow):
    """Sends two messages to a responder that reads one and ends."""

    flow_messaging: FlowMessaging

    async def call(self, request_body: ClientRequestBody) -> str:
        request = request_body.get_request_body_as(EchoRequest)
        session = self.flow_messaging.initiate_flow(request.counterparty)
        await session.send("first")
        await session.send("second")
        await session.close()
        return "closed"


@initiating_flow(protocol="test.close.reply-unread")
class EndWithUnreadReplyFlow(ClientStartableFlow):
    """Ends without reading the reply its responder sends, so its automatic close finds unread data."""

    flow_messaging: FlowMessaging

    async def call(self, request_body: ClientRequestBody) -> str:
        request = request_body.get_request_body_as(EchoRequest)
        session = self.flow_messaging.initiate_flow(request.counterparty)
        await session.send("question")
        return "ended"


@initiating_flow(protocol="test.versions", version=(1, 2, 3))
class NegotiateFlow(ClientStartableFlow):
    flow_messaging: FlowMessaging

    async def call(self, request_body: ClientRequestBody) -> dict[str, object]:
        request = request_body.get_request_body_as(EchoRequest)
        session = self.flow_messaging.initiate_flow(request.counterparty)
        info = await session.get_counterparty_flow_info()
        seen_by_responder = await session.receive(int)
        return {"protocol": info.protocol, "version": info.protocol_version, "responder_version": seen_by_responder}


@initiating_flow(protocol="test.unanswered")
class UnansweredFlow(ClientStartableFlow):
    flow_messaging: FlowMessaging

    async def call(self, request_body: ClientRequestBody) -> str:
        request = request_body.get_request_body_as(EchoRequest)
        session = self.flow_messaging.initiate_flow(request.counterparty)
        return await session.send_and_receive(str, request.message)


@initiating_flow(protocol="test.silent")
class AskSilentFlow(ClientStartableFlow):
    flow_messaging: FlowMessaging

    async def call(self, request_body: ClientRequestBody) -> str:
        request = request_body.get_request_body_as(EchoRequest)
        session = self.flow_messaging.initiate_flow(request.counterparty, timeout=request.timeout_seconds)
        return await session.send_and_receive(str, request.message)


@initiating_flow(protocol="test.both-receive")
class ReceiveFirstFlow(ClientStartableFlow):
    flow_messaging: FlowMessaging

    async def call(self, request_body: ClientRequestBody) -> str:
        request = request_body.get_request_body_as(EchoRequest)
        session = self.flow_messaging.initiate_flow(request.counterparty, timeout=request.timeout_seconds)
        return await session.receive(str)


@initiating_flow(protocol="test.types")
class SendOfferFlow(ClientStartableFlow):
    flow_messaging: FlowMessaging

    async def call(self, request_body: ClientRequestBody) -> str:
        request = request_body.get_request_body_as(EchoRequest)
        session = self.flow_messaging.initiate_flow(request.counterparty)
        return await session.send_and_receive(str, Offer(amount=5))


@initiating_flow(protocol="test.size")
class SendSizedFlow(ClientStartableFlow):
    flow_messaging: FlowMessaging

    async def call(self, request_body: ClientRequestBody) -> str:
        request = request_body.get_request_body_as(SizeRequest)
        session = self.flow_messaging.initiate_flow(request.counterparty)
        return await session.send_and_receive(str, "x" * request.size)


class Opaque:
    """A class with no JSON form."""


@initiating_flow(protocol="test.opaque")
class SendOpaqueFlow(ClientStartableFlow):
    flow_messaging: FlowMessaging

    async def call(self, request_body: ClientRequestBody) -> str:
        request = request_body.get_request_body_as(SizeRequest)
        session = self.flow_messaging.initiate_flow(request.counterparty)
        return await session.send_and_receive(str, Opaque())


@initiating_flow(protocol="test.rich")
class RichPayloadFlow(ClientStartableFlow):
    flow_messaging: FlowMessaging

    async def call(self, request_body: ClientRequestBody) -> str:
        request = request_body.get_request_body_as(EchoRequest)
        sent = RichPayload.model_validate_json(request.message)
        session = self.flow_messaging.initiate_flow(request.counterparty)
        echoed = await session.send_and_receive(RichPayload, sent)
        return "equal" if echoed == sent else f"different: {echoed!r}"


@initiating_flow(protocol="test.fail-after-send")
class FailingFlow(ClientStartableFlow):
    """Raises a plain ValueError for a negative amount, after opening a session when given a counterparty."""

    flow_messaging: FlowMessaging

    async def call(self, request_body: ClientRequestBody) -> str:
        request = request_body.get_request_body_as(AmountRequest)
        if request.counterparty is not None:
            session = self.flow_messaging.initiate_flow(request.counterparty)
            await session.send("about to fail")
        if request.amount < 0:
            raise ValueError("amount must be positive")
        return str(request.amount)


class ReadClockFlow(ClientStartableFlow):
    async def call(self, request_body: ClientRequestBody) -> str:
        return dt.datetime.now().isoformat()


class UnserialisableResultFlow(ClientStartableFlow):
    async def call(self, request_body: ClientRequestBody) -> object:
        return Opaque()


class SleepFlow(ClientStartableFlow):
    flow_engine: FlowEngine

    async def call(self, request_body: ClientRequestBody) -> str:
        await self.flow_engine.sleep(timedelta(hours=2))
        return f"slept on {self.flow_engine.virtual_node_name.common_name}"


class WhoAmIFlow(ClientStartableFlow):
    flow_engine: FlowEngine
    member_lookup: MemberLookup
    json: JsonMarshallingService

    async def call(self, request_body: ClientRequestBody) -> str:
        me = await self.member_lookup.my_info()
        nobody = await self.member_lookup.lookup("CN=Nobody, O=Nowhere, L=London, C=GB")
        return self.json.format(
            {"flow_id": self.flow_engine.flow_id, "name": str(me.name), "short_hash": me.short_hash, "nobody": nobody}
        )


@initiating_flow(protocol="test.gather")
class GatherFlow(ClientStartableFlow):
    """Asks every counterparty for a number with send_all and receive_all_map."""

    flow_messaging: FlowMessaging

    async def call(self, request_body: ClientRequestBody) -> dict[str, int]:
        request = request_body.get_request_body_as(PeersRequest)
        sessions = [self.flow_messaging.initiate_flow(name) for name in request.counterparties]
        await self.flow_messaging.send_all("number?", sessions)
        answers = await self.flow_messaging.receive_all_map({session: int for session in sessions})
        return {session.counterparty.common_name or "": answer for session, answer in answers.items()}


class OpenWithoutInitiatingFlow(ClientStartableFlow):
    """Tries to open a session although it is not an @initiating_flow."""

    flow_messaging: FlowMessaging

    async def call(self, request_body: ClientRequestBody) -> str:
        self.flow_messaging.initiate_flow("CN=Bob, OU=Test Dept, O=R3, L=London, C=GB")
        return "opened"


class LateImportFlow(ClientStartableFlow):
    """Imports a CorDapp module inside call, which Temporal's sandbox reports as a dynamic import."""

    async def call(self, request_body: ClientRequestBody) -> str:
        import tests.cordapps.lazy_helper as lazy_helper

        return lazy_helper.GREETING


class UndeclaredEngineFlow(ClientStartableFlow):
    """Uses flow_engine without declaring it, a common slip."""

    async def call(self, request_body: ClientRequestBody) -> str:
        return self.flow_engine.flow_id
