"""Responders of an older CorDapp, as run by Charlie: other versions and a responder that raises."""

from __future__ import annotations

from workflows import CordaRuntimeException, FlowSession, ResponderFlow, initiated_by


@initiated_by(protocol="test.versions", version=(4, 5))
class NewerVersionsResponder(ResponderFlow):
    async def call(self, session: FlowSession) -> None:
        await session.send(4)


@initiated_by(protocol="test.gather")
class RefuseNumberResponder(ResponderFlow):
    async def call(self, session: FlowSession) -> None:
        await session.receive(str)
        raise CordaRuntimeException("Charlie does not give out numbers")
