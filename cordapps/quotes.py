"""Quotes: a buyer asks several suppliers for the price of an item, one session each.

``RequestQuotesFlow`` opens a session to every supplier, sends the item to all
of them with ``send_all`` and gathers the answers with ``receive_all_map``.
``QuoteResponderFlow`` answers from its price list, or refuses with a
``CordaRuntimeException`` when it does not sell the item; the refusal reaches
the buyer, whose flow then fails with the supplier's message.

Start it through REST with, for example::

    {"item": "tea", "suppliers": ["CN=Bob, OU=Test Dept, O=R3, L=London, C=GB"]}
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from workflows import (
    ClientRequestBody,
    ClientStartableFlow,
    CordaRuntimeException,
    FlowEngine,
    FlowMessaging,
    FlowSession,
    ResponderFlow,
    initiated_by,
    initiating_flow,
)

PROTOCOL = "accord.samples.quotes"

PRICE_LISTS: dict[str, dict[str, int]] = {
    "Bob": {"tea": 12, "coffee": 25, "sugar": 3},
    "Charlie": {"tea": 10, "coffee": 30},
}
"""Prices in pence, by the supplier's common name; a supplier not listed sells nothing."""


class QuoteRequest(BaseModel):
    item: str = Field(min_length=1)
    suppliers: list[str] = Field(min_length=1)


class Quote(BaseModel):
    supplier: str
    item: str
    price: int


class QuotesResult(BaseModel):
    item: str
    quotes: list[Quote]
    best: Quote


@initiating_flow(protocol=PROTOCOL)
class RequestQuotesFlow(ClientStartableFlow):
    flow_messaging: FlowMessaging

    async def call(self, request_body: ClientRequestBody) -> QuotesResult:
        request = request_body.get_request_body_as(QuoteRequest)
        sessions = [self.flow_messaging.initiate_flow(supplier) for supplier in request.suppliers]
        await self.flow_messaging.send_all(request.item, sessions)
        answers = await self.flow_messaging.receive_all_map({session: Quote for session in sessions})
        quotes = sorted(answers.values(), key=lambda quote: (quote.price, quote.supplier))
        return QuotesResult(item=request.item, quotes=quotes, best=quotes[0])


@initiated_by(protocol=PROTOCOL)
class QuoteResponderFlow(ResponderFlow):
    flow_engine: FlowEngine

    async def call(self, session: FlowSession) -> None:
        item = await session.receive(str)
        me = self.flow_engine.virtual_node_name
        price = PRICE_LISTS.get(me.common_name or "", {}).get(item)
        if price is None:
            raise CordaRuntimeException(f"{me.common_name} does not sell {item!r}")
        await session.send(Quote(supplier=str(me), item=item, price=price))
