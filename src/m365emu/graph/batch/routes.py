"""POST /$batch (concepts/json-batching.md; graph.md §5).

The batch itself answers 200 once parsed; every item runs through the same dispatcher as a
direct call (token, scopes, throttling, faults, stats), at most 4 at a time as Outlook runs
them, so a throttled item answers 429 with its own `Retry-After` inside the 200. Items
wait for the items they depend on; the dependants of a failed item (status ≥ 400) get 424.
Answers come back in request order (the docs allow any order). The batch request takes no
concurrency slot of its own: its items take them.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from m365emu.graph.batch.errors import failed_dependency
from m365emu.graph.batch.models import BatchItem, read_batch
from m365emu.graph.common.errors import GraphError, bad_request, error_body
from m365emu.graph.common.http import GRAPH_JSON, Call, GraphRequest, GraphResponse
from m365emu.graph.state import Mailbox

if TYPE_CHECKING:
    from m365emu.graph.common.dispatch import GraphDispatcher

PARALLEL_ITEMS = 4


def make_batch_handler(
    dispatcher: GraphDispatcher,
) -> Callable[[Call, Mailbox], Awaitable[GraphResponse]]:
    async def run_batch(call: Call, box: Mailbox) -> GraphResponse:
        items = read_batch(call.request.json_object())
        gate = asyncio.Semaphore(PARALLEL_ITEMS)
        results: dict[str, asyncio.Future[GraphResponse]] = {
            item.id.lower(): asyncio.get_running_loop().create_future() for item in items
        }

        async def run(item: BatchItem) -> None:
            outcome = results[item.id.lower()]
            for dependency in item.depends_on:
                if (await results[dependency.lower()]).status >= 400:
                    outcome.set_result(_refusal(dispatcher, failed_dependency()))
                    return
            if item.path.rstrip("/").lower() == "/$batch":
                outcome.set_result(_refusal(dispatcher, bad_request("A batch cannot nest.")))
                return
            headers = dict(item.headers)
            for name in ("authorization", "client-request-id"):
                if name in call.request.headers:
                    headers[name] = call.request.headers[name]
            request = GraphRequest(item.method, item.path, item.query, headers, item.body)
            async with gate:
                outcome.set_result(await dispatcher.handle(request, call.base_url))

        await asyncio.gather(*(run(item) for item in items))
        responses = []
        for item in items:
            answer = results[item.id.lower()].result()
            headers = dict(answer.headers)
            if answer.body is not None:
                headers.setdefault("Content-Type", GRAPH_JSON)
            entry: dict[str, Any] = {"id": item.id, "status": answer.status, "headers": headers}
            if answer.body is not None:
                entry["body"] = answer.body
            responses.append(entry)
        return GraphResponse(200, {"responses": responses})

    return run_batch


def _refusal(dispatcher: GraphDispatcher, error: GraphError) -> GraphResponse:
    """An item answered by the batch itself (424, nested batch), Graph-shaped."""
    request_id = str(uuid.uuid4())
    body = error_body(error, request_id, None, dispatcher.clock.now())
    return GraphResponse(error.status, body, {"request-id": request_id})
