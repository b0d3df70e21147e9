"""An emulator Graph API mounted in a FastAPI app, reached through httpx.ASGITransport
(the transport is the seam: DESIGN.md), with a static token verifier."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from fastapi import FastAPI

from m365emu.clock import EmulatorClock
from m365emu.faults import FaultBook
from m365emu.graph import GraphRuntime, GraphState, create_graph_router
from m365emu.graph.fakes import StaticTokenVerifier
from m365emu.stats import RequestStats

TENANT = "11111111-1111-1111-1111-111111111111"
ALICE = "aaaaaaaa-0000-0000-0000-000000000001"
BOB = "bbbbbbbb-0000-0000-0000-000000000002"
BASE = "https://graph.emu.test/v1.0"
# A well-formed immutable id of no event (404, where a malformed id answers 400).
MISSING_ID = "AAkALg" + "A" * 24


@dataclass
class GraphHarness:
    app: FastAPI
    state: GraphState
    clock: EmulatorClock
    faults: FaultBook
    stats: RequestStats
    runtime: GraphRuntime
    verifier: StaticTokenVerifier
    client: httpx.AsyncClient
    token: str

    def headers(self, token: str | None = None, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token or self.token}", **extra}

    @property
    def alice_key(self) -> str:
        return f"{TENANT}/{ALICE}"


def build_app(
    state: GraphState, clock: EmulatorClock, verifier: StaticTokenVerifier
) -> tuple[FastAPI, FaultBook, RequestStats, GraphRuntime]:
    faults, stats = FaultBook(), RequestStats()
    runtime = GraphRuntime(reraise_unexpected=True)
    app = FastAPI()
    app.include_router(
        create_graph_router(state, verifier, clock, faults, stats, runtime), prefix="/v1.0"
    )
    return app, faults, stats, runtime


@pytest.fixture
async def graph() -> AsyncIterator[GraphHarness]:
    clock = EmulatorClock()
    verifier = StaticTokenVerifier(clock)
    state = GraphState()
    app, faults, stats, runtime = build_app(state, clock, verifier)
    token = verifier.issue(TENANT, ALICE, "alice@contoso.test", "Alice Adams")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
        yield GraphHarness(app, state, clock, faults, stats, runtime, verifier, client, token)
