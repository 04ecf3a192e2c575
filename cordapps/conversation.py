"""Conversation: two parties count up together for a given number of rounds.

The initiator sends the number of rounds, then in each round sends a number
and receives it incremented by the responder. It returns every number it
received. With ``in_subflow`` set, the last rounds run in
``ContinueConversationSubFlow``, a child workflow given the parent's session;
the responder cannot tell the difference. ``benchmarks/conversation.py``
measures this conversation at the top level and with every round in the
subflow (``in_subflow`` equal to ``rounds``), against raw Temporal making the
same hops.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from workflows import (
    ClientRequestBody,
    ClientStartableFlow,
    FlowEngine,
    FlowMessaging,
    FlowSession,
    ResponderFlow,
    SubFlow,
    initiated_by,
    initiating_flow,
)

PROTOCOL = "accord.samples.conversation"


class ConversationRequest(BaseModel):
    counterparty: str
    rounds: int = Field(default=10, ge=1, le=1000)
    in_subflow: int = Field(default=0, ge=0, description="How many of the last rounds run inside a subflow")


class ConversationResult(BaseModel):
    counterparty: str
    rounds: int
    received: list[int]


async def count_up(session: FlowSession, rounds: int, start: int) -> list[int]:
    """Send ``start`` and each number after the last reply; return the replies."""
    received = []
    number = start
    for _ in range(rounds):
        number = await session.send_and_receive(int, number)
        received.append(number)
        number += 1
    return received


class ContinueConversationSubFlow(SubFlow[list[int]]):
    """Holds the last rounds of a conversation on the session its parent lends it."""

    def __init__(self, session: FlowSession, rounds: int, start: int) -> None:
        self.session = session
        self.rounds = rounds
        self.start = start

    async def call(self) -> list[int]:
        return await count_up(self.session, self.rounds, self.start)


@initiating_flow(protocol=PROTOCOL)
class ConversationFlow(ClientStartableFlow):
    flow_messaging: FlowMessaging
    flow_engine: FlowEngine

    async def call(self, request_body: ClientRequestBody) -> ConversationResult:
        request = request_body.get_request_body_as(ConversationRequest)
        in_subflow = min(request.in_subflow, request.rounds)
        session = self.flow_messaging.initiate_flow(request.counterparty)
        await session.send(request.rounds)
        received = await count_up(session, request.rounds - in_subflow, 0)
        if in_subflow:
            start = received[-1] + 1 if received else 0
            received += await self.flow_engine.sub_flow(ContinueConversationSubFlow(session, in_subflow, start))
        return ConversationResult(counterparty=str(session.counterparty), rounds=request.rounds, received=received)


@initiated_by(protocol=PROTOCOL)
class ConversationResponderFlow(ResponderFlow):
    async def call(self, session: FlowSession) -> None:
        rounds = await session.receive(int)
        for _ in range(rounds):
            number = await session.receive(int)
            await session.send(number + 1)
