"""Quotes: a buyer asks several suppliers for the price of an item, one session each.

``RequestQuotesFlow`` asks the suppliers in the initiating subflow
``CollectQuotesSubFlow``, which runs as a child workflow: it opens a session
to every supplier, sends the item to all of them with ``send_all``, gathers
the replies with ``receive_all_map`` and closes its sessions when it returns.
``QuoteResponderFlow`` replies from its price list, or refuses with a
``CordaRuntimeException`` when it does not sell the item; the refusal reaches
the subflow and then the buyer, whose flow fails with the supplier's message.

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
    SubFlow,
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
class CollectQuotesSubFlow(SubFlow[list[Quote]]):
    flow_messaging: FlowMessaging

    def __init__(self, item: str, suppliers: list[str]) -> None:
        self.item = item
        self.suppliers = suppliers

    async def call(self) -> list[Quote]:
        sessions = [self.flow_messaging.initiate_flow(supplier) for supplier in self.suppliers]
        await self.flow_messaging.send_all(self.item, sessions)
        replies = await self.flow_messaging.receive_all_map({session: Quote for session in sessions})
        return list(replies.values())


class RequestQuotesFlow(ClientStartableFlow):
    flow_engine: FlowEngine

    async def call(self, request_body: ClientRequestBody) -> QuotesResult:
        request = request_body.get_request_body_as(QuoteRequest)
        quotes = await self.flow_engine.sub_flow(CollectQuotesSubFlow(request.item, request.suppliers))
        quotes.sort(key=lambda quote: (quote.price, quote.supplier))
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
