"""The Graph v1.0 API as one FastAPI router, to be mounted under `/v1.0` of the emulator's
TLS app (issue 5). Every method and path goes to the `GraphDispatcher`, so unknown paths
get Graph-shaped errors too.

Wiring (the app assembly):
    state = GraphState(persistence)
    runtime = GraphRuntime()            # POST /_emulator/latency sets runtime.latency_ms
    app.include_router(
        create_graph_router(state, verifier, clock, faults, stats, runtime), prefix="/v1.0"
    )
"""

from __future__ import annotations

import json

from fastapi import APIRouter, Request, Response

from m365emu.clock import EmulatorClock
from m365emu.faults import FaultBook
from m365emu.graph.batch.routes import make_batch_handler
from m365emu.graph.common.dispatch import GraphDispatcher, Route
from m365emu.graph.common.http import GRAPH_JSON, GraphRequest
from m365emu.graph.events.routes import make_routes as event_routes
from m365emu.graph.mailbox_settings.routes import ROUTES as SETTINGS_ROUTES
from m365emu.graph.master_categories.routes import ROUTES as CATEGORY_ROUTES
from m365emu.graph.me.routes import ROUTES as ME_ROUTES
from m365emu.graph.state import GraphRuntime, GraphState
from m365emu.stats import RequestStats
from m365emu.tokens import TokenVerifier

METHODS = ["GET", "POST", "PATCH", "PUT", "DELETE"]


def create_dispatcher(
    state: GraphState,
    verifier: TokenVerifier,
    clock: EmulatorClock,
    faults: FaultBook,
    stats: RequestStats,
    runtime: GraphRuntime,
    extra_routes: tuple[Route, ...] = (),
) -> GraphDispatcher:
    routes: list[Route] = [
        *ME_ROUTES,
        *event_routes(clock),
        *CATEGORY_ROUTES,
        *SETTINGS_ROUTES,
        *extra_routes,
    ]
    dispatcher = GraphDispatcher(routes, state, verifier, clock, faults, stats, runtime)
    dispatcher.routes.append(
        Route("POST", "/$batch", make_batch_handler(dispatcher), frozenset(), throttled=False)
    )
    return dispatcher


def create_graph_router(
    state: GraphState,
    verifier: TokenVerifier,
    clock: EmulatorClock,
    faults: FaultBook,
    stats: RequestStats,
    runtime: GraphRuntime,
    extra_routes: tuple[Route, ...] = (),
) -> APIRouter:
    """`extra_routes`: further resources in the same dispatcher (`/subscriptions`)."""
    dispatcher = create_dispatcher(state, verifier, clock, faults, stats, runtime, extra_routes)
    router = APIRouter()

    @router.api_route("/{path:path}", methods=METHODS, include_in_schema=False)
    async def graph(path: str, request: Request) -> Response:
        relative = "/" + path
        full = request.url.path
        mount = full[: len(full) - len(relative)] if full.endswith(relative) else "/v1.0"
        base_url = f"{request.url.scheme}://{request.url.netloc}{mount}"
        graph_request = GraphRequest(
            request.method,
            relative,
            dict(request.query_params),
            dict(request.headers),
            await request.body(),
            request.headers.getlist("prefer"),
        )
        answer = await dispatcher.handle(graph_request, base_url)
        content = b"" if answer.body is None else json.dumps(answer.body).encode()
        headers = dict(answer.headers)
        media = GRAPH_JSON if answer.body is not None else None
        return Response(content, answer.status, headers, media_type=media)

    return router
