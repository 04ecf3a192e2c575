"""Responders of the test CorDapp, as run by every test vnode but Charlie."""

from __future__ import annotations

from workflows import (
    CordaRuntimeException,
    FlowEngine,
    FlowSession,
    ResponderFlow,
    initiated_by,
)

from tests.cordapps.models import BurstHeader, Invoice, RichPayload, ThrowOrder


@initiated_by(protocol="test.echo", version=(1, 2))
class EchoResponder(ResponderFlow):
    async def call(self, session: FlowSession) -> None:
        message = await session.receive(str)
        await session.send(message)


@initiated_by(protocol="test.throw")
class ThrowingResponder(ResponderFlow):
    async def call(self, session: FlowSession) -> None:
        order = await session.receive(ThrowOrder)
        if order.internal:
            raise RuntimeError(f"connection failed with db-password=xyz: {order.message}")
        raise CordaRuntimeException(order.message)


@initiated_by(protocol="test.burst")
class BurstResponder(ResponderFlow):
    flow_engine: FlowEngine

    async def call(self, session: FlowSession) -> None:
        header = await session.receive(BurstHeader)
        if header.delay_seconds:
            await self.flow_engine.sleep(header.delay_seconds)
        received = [await session.receive(str) for _ in range(header.count)]
        await session.send("".join(received))


@initiated_by(protocol="test.burst.pair")
class PairBurstResponder(BurstResponder):
    pass


@initiated_by(protocol="test.close")
class CloseResponder(ResponderFlow):
    async def call(self, session: FlowSession) -> None:
        message = await session.receive(str)
        await session.send(f"reply to {message}")


@initiated_by(protocol="test.close.unread")
class ReadOneResponder(ResponderFlow):
    async def call(self, session: FlowSession) -> None:
        await session.receive(str)


@initiated_by(protocol="test.close.reply-unread")
class ReplyResponder(ResponderFlow):
    async def call(self, session: FlowSession) -> None:
        await session.receive(str)
        await session.send("answer")


@initiated_by(protocol="test.versions", version=(2,))
class VersionTwoResponder(ResponderFlow):
    async def call(self, session: FlowSession) -> None:
        info = await session.get_counterparty_flow_info()
        await session.send(info.protocol_version)


@initiated_by(protocol="test.silent")
class SilentResponder(ResponderFlow):
    async def call(self, session: FlowSession) -> None:
        await session.receive(str)
        await session.receive(str)


@initiated_by(protocol="test.both-receive")
class ReceiveFirstResponder(ResponderFlow):
    async def call(self, session: FlowSession) -> None:
        await session.receive(str)


@initiated_by(protocol="test.types")
class ExpectInvoiceResponder(ResponderFlow):
    async def call(self, session: FlowSession) -> None:
        invoice = await session.receive(Invoice)
        await session.send(invoice.number)


@initiated_by(protocol="test.size")
class SizeResponder(ResponderFlow):
    async def call(self, session: FlowSession) -> None:
        text = await session.receive(str)
        await session.send(str(len(text)))


@initiated_by(protocol="test.rich")
class RichEchoResponder(ResponderFlow):
    async def call(self, session: FlowSession) -> None:
        payload = await session.receive(RichPayload)
        await session.send(payload)


@initiated_by(protocol="test.fail-after-send")
class WaitForMoreResponder(ResponderFlow):
    async def call(self, session: FlowSession) -> None:
        await session.receive(str)
        await session.receive(str)


@initiated_by(protocol="test.gather")
class AnswerNumberResponder(ResponderFlow):
    async def call(self, session: FlowSession) -> None:
        await session.receive(str)
        await session.send(42)
