"""Record the workflow histories of the sample flows that the replay tests check current code against.

Run it when a sample flow changes on purpose, and commit the files it writes:

    python -m tests.histories.record

Every history of a run is written: the flow, its subflows and its responders.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from app.network import load_network
from app.testing import TestNetwork, start_time_skipping
from tests.conftest import BOB, CHARLIE, TEST_NETWORK_FILE

HISTORIES = Path(__file__).parent

SAMPLE_RUNS = {
    "quotes-tea": ("cordapps.quotes.RequestQuotesFlow", {"item": "tea", "suppliers": [BOB, CHARLIE]}),
    "quotes-sugar": ("cordapps.quotes.RequestQuotesFlow", {"item": "sugar", "suppliers": [BOB, CHARLIE]}),
    "conversation": ("cordapps.conversation.ConversationFlow", {"counterparty": BOB, "rounds": 4, "in_subflow": 2}),
}


async def record() -> None:
    async with await start_time_skipping() as env:
        async with TestNetwork(env, load_network(TEST_NETWORK_FILE), ["Alice", "Bob", "Charlie"]) as network:
            for name, (flow_class, body) in SAMPLE_RUNS.items():
                status = await network.run_flow("Alice", flow_class, body, client_request_id=f"replay-{name}")
                workflow_ids = [status.workflow_id]
                for index in range(1, 10):
                    child = f"{status.workflow_id}/sub/{index}"
                    try:
                        await env.client.get_workflow_handle(child).describe()
                    except Exception:  # noqa: BLE001 - no more subflows
                        break
                    workflow_ids.append(child)
                for workflow_id in list(workflow_ids):
                    workflow_ids += await network.responder_ids(workflow_id)
                workflow_ids = list(dict.fromkeys(workflow_ids))
                for index, workflow_id in enumerate(workflow_ids):
                    history = await env.client.get_workflow_handle(workflow_id).fetch_history()
                    path = HISTORIES / f"{name}-{index}.json"
                    recorded = {"workflow_id": workflow_id, "history": json.loads(history.to_json())}
                    path.write_text(json.dumps(recorded, indent=1) + "\n")
                    print(f"{path.name}: {workflow_id} ({status.flow_status})")  # noqa: T201 - a script's output


if __name__ == "__main__":
    asyncio.run(record())
