"""Changed versions of the conversation sample, to show what replaying old histories catches.

Both start their flow with an extra durable sleep: ``UnguardedConversationFlow``
always, which running flows recorded without it cannot replay, and
``GuardedConversationFlow`` only behind ``flow_engine.patched``, which they can.
"""

from __future__ import annotations

from workflows import ClientRequestBody, FlowEngine, initiating_flow

from cordapps.conversation import ConversationFlow, ConversationResult

CHANGE = "sleep-before-conversation"


@initiating_flow(protocol="test.changed.unguarded")
class UnguardedConversationFlow(ConversationFlow):
    flow_engine: FlowEngine

    async def call(self, request_body: ClientRequestBody) -> ConversationResult:
        await self.flow_engine.sleep(1)
        return await super().call(request_body)


@initiating_flow(protocol="test.changed.guarded")
class GuardedConversationFlow(ConversationFlow):
    flow_engine: FlowEngine

    async def call(self, request_body: ClientRequestBody) -> ConversationResult:
        if self.flow_engine.patched(CHANGE):
            await self.flow_engine.sleep(1)
        return await super().call(request_body)
