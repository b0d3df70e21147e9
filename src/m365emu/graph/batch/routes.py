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
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from m365emu.graph.batch.errors import failed_dependency
from m365emu.graph.batch.models import BatchItem, read_batch
from m365emu.graph.common.errors import bad_request, error_body
from m365emu.graph.common.http import Call, GraphRequest, GraphResponse
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
            try:
                for dependency in item.depends_on:
                    answer = await results[dependency.lower()]
                    if answer.status >= 400:
                        error = failed_dependency()
                        results[item.id.lower()].set_result(
                            GraphResponse(424, error_body(error, "", None, dispatcher.clock.now()))
                        )
                        return
                if item.path.rstrip("/").lower() == "/$batch":
                    raise ValueError("nested batch")
                headers = dict(item.headers)
                for name in ("authorization", "client-request-id"):
                    if name in call.request.headers:
                        headers.setdefault(name, call.request.headers[name])
                request = GraphRequest(item.method, item.path, item.query, headers, item.body)
                async with gate:
                    answer = await dispatcher.handle(request, call.base_url)
                results[item.id.lower()].set_result(answer)
            except ValueError:
                results[item.id.lower()].set_result(GraphResponse(400, _nested_error(dispatcher)))

        await asyncio.gather(*(run(item) for item in items))
        responses = []
        for item in items:
            answer = results[item.id.lower()].result()
            headers = dict(answer.headers)
            if answer.body is not None:
                headers.setdefault("Content-Type", "application/json")
            entry: dict[str, Any] = {"id": item.id, "status": answer.status, "headers": headers}
            if answer.body is not None:
                entry["body"] = answer.body
            responses.append(entry)
        return GraphResponse(200, {"responses": responses})

    return run_batch


def _nested_error(dispatcher: GraphDispatcher) -> dict[str, Any]:
    error = bad_request("A batch cannot contain a batch.")
    return error_body(error, "", None, dispatcher.clock.now())
