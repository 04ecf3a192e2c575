"""Conversation: two parties count up together for a given number of rounds.

The initiator sends the number of rounds, then in each round sends a number
and receives it incremented by the responder. It returns every number it
received. This is the conversation the benchmark measures against raw
Temporal signals.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from workflows import (
    ClientRequestBody,
    ClientStartableFlow,
    FlowMessaging,
    FlowSession,
    ResponderFlow,
    initiated_by,
    initiating_flow,
)

PROTOCOL = "accord.samples.conversation"


class ConversationRequest(BaseModel):
    counterparty: str
    rounds: int = Field(default=10, ge=1, le=1000)


class ConversationResult(BaseModel):
    counterparty: str
    rounds: int
    received: list[int]


@initiating_flow(protocol=PROTOCOL)
class ConversationFlow(ClientStartableFlow):
    flow_messaging: FlowMessaging

    async def call(self, request_body: ClientRequestBody) -> ConversationResult:
        request = request_body.get_request_body_as(ConversationRequest)
        session = self.flow_messaging.initiate_flow(request.counterparty)
        await session.send(request.rounds)
        received = []
        number = 0
        for _ in range(request.rounds):
            number = await session.send_and_receive(int, number)
            received.append(number)
            number += 1
        return ConversationResult(counterparty=str(session.counterparty), rounds=request.rounds, received=received)


@initiated_by(protocol=PROTOCOL)
class ConversationResponderFlow(ResponderFlow):
    async def call(self, session: FlowSession) -> None:
        rounds = await session.receive(int)
        for _ in range(rounds):
            number = await session.receive(int)
            await session.send(number + 1)
