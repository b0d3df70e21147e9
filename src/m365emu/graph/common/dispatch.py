"""The one path every Graph request takes, over HTTP or inside a `$batch`:
request id → route → bearer token (401) → scopes (403) → stats → throttling (429) →
injected fault → handler → latency → Graph-shaped answer.

Routes are a table of (method, path template, handler, scopes) as moto keeps its URL maps,
so `$batch` items run through exactly the same checks as direct calls (json-batching.md:
"requests in a batch are evaluated individually against the applicable throttling limits").
Errors become `{"error": {"code", "message", "innerError"}}` with `request-id` and
`client-request-id` headers; an unexpected exception becomes 500 `generalException`, or
is re-raised when `GraphRuntime.reraise_unexpected` is set (tests).

Faults (m365emu.faults) match the path relative to the Graph base (`/me/events/AAMk…`).
A `timeout` fault holds the request for the fault's `timeout_seconds`, then answers 504
(ASGI cannot drop a connection without an answer; a client whose timeout is shorter sees
its own timeout first); `applied_then_timeout` runs the handler first.
"""

from __future__ import annotations

import asyncio
import inspect
import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from m365emu.clock import EmulatorClock
from m365emu.faults import FaultBook, FaultKind
from m365emu.graph.common.auth import bearer_claims, require_any_scope
from m365emu.graph.common.errors import (
    GraphError,
    error_body,
    fault_error,
    method_not_allowed,
    no_such_segment,
)
from m365emu.graph.common.http import Call, GraphRequest, GraphResponse
from m365emu.graph.common.throttle import Throttle
from m365emu.graph.state import GraphRuntime, GraphState, Mailbox
from m365emu.stats import RequestStats
from m365emu.tokens import TokenVerifier

Handler = Callable[[Call, Mailbox], "GraphResponse | Awaitable[GraphResponse]"]


@dataclass(frozen=True)
class Route:
    method: str
    template: str
    handler: Handler
    scopes: frozenset[str] = frozenset()
    throttled: bool = True
    pattern: re.Pattern[str] = field(init=False, compare=False)

    def __post_init__(self) -> None:
        regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(self.template))
        object.__setattr__(self, "pattern", re.compile(f"^{regex}/?$", re.IGNORECASE))


class GraphDispatcher:
    def __init__(
        self,
        routes: list[Route],
        state: GraphState,
        verifier: TokenVerifier,
        clock: EmulatorClock,
        faults: FaultBook,
        stats: RequestStats,
        runtime: GraphRuntime,
    ) -> None:
        self.routes = routes
        self.state = state
        self.verifier = verifier
        self.clock = clock
        self.faults = faults
        self.stats = stats
        self.runtime = runtime
        self.throttle = Throttle(clock)
        state.on_reset(self.throttle.reset)

    def _match(self, request: GraphRequest) -> tuple[Route, dict[str, str]]:
        known_path = False
        for route in self.routes:
            match = route.pattern.match(request.path)
            if match is None:
                continue
            known_path = True
            if route.method == request.method:
                return route, match.groupdict()
        if known_path:
            raise method_not_allowed(request.method)
        raise no_such_segment(request.path)

    async def handle(self, request: GraphRequest, base_url: str) -> GraphResponse:
        request_id = str(uuid.uuid4())
        client_request_id = request.headers.get("client-request-id")
        try:
            response = await self._run(request, base_url)
        except GraphError as error:
            response = GraphResponse(
                error.status,
                error_body(error, request_id, client_request_id, self.clock.now()),
                dict(error.headers),
            )
        except Exception:
            if self.runtime.reraise_unexpected:
                raise
            failure = GraphError(500, "generalException", "General exception while processing.")
            response = GraphResponse(
                500, error_body(failure, request_id, client_request_id, self.clock.now())
            )
        # Headers every Graph answer carries (json-batching.md shows them per item too).
        response.headers.setdefault("Cache-Control", "no-cache")
        if response.body is not None:
            response.headers.setdefault("OData-Version", "4.0")
        response.headers["request-id"] = request_id
        response.headers["client-request-id"] = client_request_id or request_id
        return response

    async def _run(self, request: GraphRequest, base_url: str) -> GraphResponse:
        claims = bearer_claims(request.headers.get("authorization"), self.verifier)
        box = self.state.mailbox(claims.tid, claims.oid, claims.preferred_username, claims.name)
        try:
            route, params = self._match(request)
        except GraphError:
            self.stats.count(box.key, request.method, request.path)
            await self._latency()
            raise
        self.stats.count(box.key, request.method, route.template)
        if request.prefer.get("idtype", "").lower() != "immutableid":
            self.stats.count_default_ids(box.key, request.method, route.template)
        require_any_scope(claims, route.scopes)
        call = Call(request, claims, params, base_url)
        if not route.throttled:
            return await self._guarded(route, call, box)
        with self.throttle.slot(claims.app_id, box.key), self.stats.flight(box.key):
            return await self._guarded(route, call, box)

    async def _guarded(self, route: Route, call: Call, box: Mailbox) -> GraphResponse:
        request = call.request
        fault = self.faults.take(request.method, request.path)
        if fault is not None and fault.kind in (FaultKind.THROTTLE, FaultKind.ERROR):
            await self._latency()
            if fault.kind == FaultKind.THROTTLE:
                raise fault_error(fault.status if fault.status == 429 else 429, fault.retry_after)
            # A 429 or 503 error fault also says when to retry, as Graph's do.
            retry = fault.retry_after if fault.status in (429, 503) else None
            raise fault_error(fault.status, retry)
        if fault is not None and fault.kind == FaultKind.TIMEOUT:
            await asyncio.sleep(fault.timeout_seconds)
            raise fault_error(504, None)
        response = await self._invoke(route, call, box)
        if fault is not None and fault.kind == FaultKind.APPLIED_THEN_TIMEOUT:
            await asyncio.sleep(fault.timeout_seconds)
            raise fault_error(504, None)
        if route.throttled:
            await self._latency()
        return response

    async def _invoke(self, route: Route, call: Call, box: Mailbox) -> GraphResponse:
        with box.lock:
            result = route.handler(call, box)
        if inspect.isawaitable(result):
            return await result
        return result

    async def _latency(self) -> None:
        if self.runtime.latency_ms > 0:
            await asyncio.sleep(self.runtime.latency_ms / 1000)
