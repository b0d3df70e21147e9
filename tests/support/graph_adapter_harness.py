"""The Graph adapter against the Microsoft 365 emulator mounted in-process: the Graph API
through httpx.ASGITransport (the seam), the control plane (`/_emulator/…`) likewise, and
a recording sleep so that Retry-After and backoff waits cost no wall time."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from m365emu.app import Emulator, build_emulator, create_browser_app
from m365emu.demo import seed_demo
from s5sync.outlook.graph import GraphCalendar
from s5sync.outlook.metering import MailboxSlots, RequestCounter
from s5sync.outlook.session import GraphSession, Pacing, RetryPolicy
from s5sync.outlook.transport import HttpxTransport
from s5sync.sync.ports import EventWrite
from s5sync.testing.graph_emulator import (
    EmulatorTokens,
    GraphParts,
    UserActions,
    in_process_client,
    install_graph_api,
)

NOW = datetime.now(UTC).replace(microsecond=0)
WINDOW = (NOW - timedelta(days=1), NOW + timedelta(days=30))
FIXED_NOW = datetime(2026, 11, 25, 20, 0, tzinfo=UTC)


@dataclass
class Sleeps:
    """The waits the client asked for; each yields to the loop but costs no time."""

    seconds: list[float] = field(default_factory=list)

    async def __call__(self, seconds: float) -> None:
        self.seconds.append(seconds)
        await asyncio.sleep(0)


@dataclass
class Emu:
    emulator: Emulator
    parts: GraphParts
    http: httpx.AsyncClient
    control: httpx.AsyncClient
    tokens: EmulatorTokens
    user: UserActions
    sleeps: Sleeps
    counter: RequestCounter = field(default_factory=RequestCounter)
    slots: MailboxSlots = field(default_factory=MailboxSlots)

    def calendar(
        self,
        *,
        policy: RetryPolicy | None = None,
        deadline: float | None = None,
        page_size: int = 100,
        tokens: Any = None,
    ) -> GraphCalendar:
        session = GraphSession(
            HttpxTransport(self.http),
            tokens or self.tokens,
            counter=self.counter,
            slots=self.slots,
            policy=policy or RetryPolicy(request_timeout=5),
            pacing=Pacing(sleep=self.sleeps, now=lambda: FIXED_NOW, random=lambda: 0.5),
            deadline=deadline,
        )
        return GraphCalendar(session, page_size=page_size)

    async def fault(self, **fault: Any) -> None:
        answer = await self.control.post("/_emulator/faults", json=fault)
        assert answer.status_code == 201, answer.text

    async def stats(self) -> dict[str, Any]:
        answer = await self.control.get("/_emulator/stats")
        return dict(answer.json())

    def events(self) -> list[Any]:
        box = self.parts.state.find(self.tokens.mailbox_key())
        return [] if box is None else list(box.events.listed())


@pytest.fixture
async def emu() -> AsyncIterator[Emu]:
    emulator = build_emulator(None)
    parts = install_graph_api(emulator)
    seed_demo(emulator)
    control_transport = httpx.ASGITransport(app=create_browser_app(emulator))
    try:
        async with (
            in_process_client(emulator) as http,
            httpx.AsyncClient(transport=control_transport, base_url="http://emu.test") as control,
        ):
            tokens = EmulatorTokens(emulator, "alice@contoso.example")
            yield Emu(emulator, parts, http, control, tokens, UserActions(http, tokens), Sleeps())
    finally:
        emulator.close()


def a_write(n: int, run: str = "r") -> EventWrite:
    start = NOW + timedelta(days=2, minutes=30 * n)
    return EventWrite(
        subject=f"Task {n}",
        body_html=f"<p>notes {n}</p>",
        start=start,
        end=start + timedelta(minutes=30),
        reminder_minutes=15,
        categories=("Received From System5",),
        task_ref=f"{run}:{n}",
        transaction_id=f"tx-{run}-{n}",
    )
