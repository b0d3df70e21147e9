"""The emulator's Graph API with change notifications, and a subscriber to deliver to,
both reached through httpx.ASGITransport in the test's own loop (issue 19): the
delivery worker runs as a task of the test (`worker.running()`), its transport routes
every notification to `Subscriber.app`, whatever the URL's host."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request, Response

from m365emu.clock import EmulatorClock
from m365emu.faults import FaultBook
from m365emu.graph import GraphRuntime, GraphState, create_graph_router
from m365emu.graph.fakes import StaticTokenVerifier
from m365emu.graph.subscriptions.hub import ChangeNotifications
from m365emu.graph.subscriptions.routes import make_routes
from m365emu.stats import RequestStats
from support.graph_harness import ALICE, BASE, TENANT

NOTIFY_URL = "https://subscriber.test/graph/notifications"
LIFECYCLE_URL = "https://subscriber.test/graph/lifecycle"
START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@dataclass
class Subscriber:
    """A notification endpoint that answers as a test tells it to and records everything."""

    validations: list[tuple[str, str, str]] = field(default_factory=list)  # path, token, type
    received: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # path, body
    status: int = 202
    failures: int = 0  # answer 503 to this many notifications first
    answer_token: str | None = None  # answer validations with this instead of the token
    validation_status: int = 200
    validation_type: str = "text/plain"
    validation_delay: float = 0.0
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    app: FastAPI = field(default_factory=FastAPI)

    def __post_init__(self) -> None:
        @self.app.post("/{path:path}")
        async def endpoint(path: str, request: Request) -> Response:
            token = request.query_params.get("validationToken")
            if token is not None:
                kind = request.headers.get("content-type", "")
                self.validations.append((path, token, kind))
                await asyncio.sleep(self.validation_delay)
                body = token if self.answer_token is None else self.answer_token
                return Response(body, self.validation_status, media_type=self.validation_type)
            self.received.append((path, await request.json()))
            self.arrived.set()
            if self.failures > 0:
                self.failures -= 1
                return Response(status_code=503)
            return Response(status_code=self.status)

    def items(self, path: str = "graph/notifications") -> list[dict[str, Any]]:
        return [item for p, body in self.received if p == path for item in body["value"]]

    def lifecycle(self) -> list[str]:
        return [item["lifecycleEvent"] for item in self.items("graph/lifecycle")]


@dataclass
class Notified:
    hub: ChangeNotifications
    state: GraphState
    clock: EmulatorClock
    faults: FaultBook
    verifier: StaticTokenVerifier
    client: httpx.AsyncClient
    subscriber: Subscriber
    token: str
    revoked: dict[str, datetime]
    app: FastAPI

    def headers(self, token: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {token or self.token}"}

    def body(self, **overrides: Any) -> dict[str, Any]:
        body: dict[str, Any] = {
            "changeType": "created,updated,deleted",
            "notificationUrl": NOTIFY_URL,
            "lifecycleNotificationUrl": LIFECYCLE_URL,
            "resource": "me/events",
            "expirationDateTime": (self.clock.now() + timedelta(days=2)).isoformat(),
            "clientState": "s3cret-state",
        }
        body.update(overrides)
        return {k: v for k, v in body.items() if v is not None}

    async def subscribe(self, **overrides: Any) -> dict[str, Any]:
        answer = await self.client.post(
            "/subscriptions", json=self.body(**overrides), headers=self.headers()
        )
        assert answer.status_code == 201, answer.text
        made: dict[str, Any] = answer.json()
        return made

    async def create_event(self, subject: str = "Lunch") -> dict[str, Any]:
        event = {
            "subject": subject,
            "start": {"dateTime": "2026-12-02T12:00:00", "timeZone": "UTC"},
            "end": {"dateTime": "2026-12-02T13:00:00", "timeZone": "UTC"},
        }
        answer = await self.client.post("/me/events", json=event, headers=self.headers())
        assert answer.status_code == 201, answer.text
        made: dict[str, Any] = answer.json()
        return made

    def advance(self, delta: timedelta) -> None:
        self.clock.set(self.clock.now() + delta)
        self.hub.worker.wake()

    async def settle(self) -> None:
        await self.hub.worker.settle()

    async def delivered(self, count: int, path: str = "graph/notifications") -> None:
        """Wait until `count` notifications reached `path` of the subscriber."""
        for _ in range(200):
            await self.settle()
            if len(self.subscriber.items(path)) >= count:
                return
            await asyncio.sleep(0.01)
        raise AssertionError(f"{count} expected at {path}: {self.subscriber.items(path)}")


@pytest.fixture
async def notified() -> AsyncIterator[Notified]:
    clock = EmulatorClock()
    clock.set(START)
    verifier = StaticTokenVerifier(clock)
    state = GraphState()
    faults = FaultBook()
    revoked: dict[str, datetime] = {}
    hub = ChangeNotifications(clock, faults, grant_valid_from=lambda tid, oid: revoked.get(oid))
    hub.public_id = state.public_id
    state.change_listeners.append(hub.event_changed)
    subscriber = Subscriber()
    hub.transport = httpx.ASGITransport(app=subscriber.app)
    app = FastAPI()
    router = create_graph_router(
        state,
        verifier,
        clock,
        faults,
        RequestStats(),
        GraphRuntime(reraise_unexpected=True),
        tuple(make_routes(hub)),
    )
    app.include_router(router, prefix="/v1.0")
    token = verifier.issue(TENANT, ALICE, "alice@contoso.test", "Alice Adams")
    transport = httpx.ASGITransport(app=app)
    async with (
        httpx.AsyncClient(transport=transport, base_url=BASE) as client,
        hub.worker.running(),
    ):
        yield Notified(hub, state, clock, faults, verifier, client, subscriber, token, revoked, app)
