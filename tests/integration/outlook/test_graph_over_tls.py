"""The Graph adapter over a real TLS socket to the emulator, signed in with MSAL, on
production's transport (aiohttp, `outlook.transport.AiohttpTransport`): a
request that hangs is cut by the client's own deadline and sent again without a second
event (R16), a throttled batch waits as told (R23b), and the mailbox never sees more than
4 requests at once."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from m365emu.demo import DEMO_TENANT_ID
from m365emu.testing import RunningEmulator
from s5sync.outlook.identity import MsalIdentity
from s5sync.outlook.metering import MailboxSlots, RequestCounter
from s5sync.outlook.session import Pacing, RetryPolicy
from s5sync.outlook.tokens import UserTokens
from s5sync.outlook.transport import AiohttpTransport
from s5sync.sync.ports import EventWrite, WriteStatus
from s5sync.testing.graph_emulator import graph_calendar
from support.event_writes import create_events
from support.signin_harness import identity, running, sign_in

__all__ = ["identity", "running"]

NOW = datetime.now(UTC).replace(microsecond=0)


class Memory:
    def __init__(self, text: str) -> None:
        self.text = text

    async def load(self) -> str | None:
        return self.text

    async def save(self, serialized: str) -> None:
        self.text = serialized


@dataclass
class Signed:
    http: AiohttpTransport
    control: httpx.AsyncClient
    tokens: UserTokens
    running: RunningEmulator
    mailbox: str
    counter: RequestCounter
    slots: MailboxSlots

    def subjects(self) -> Counter[str]:
        box = self.running.emulator.socket_parts.state.find(self.mailbox)  # type: ignore[attr-defined]
        return Counter(e.subject for e in box.events.listed())


@pytest.fixture
async def signed(running: RunningEmulator, identity: MsalIdentity) -> AsyncIterator[Signed]:
    email = f"tls-{uuid.uuid4().hex[:6]}@contoso.example"
    user = running.emulator.directory.add_user(DEMO_TENANT_ID, email, "TLS")
    result = await sign_in(running, identity, email)
    tokens = UserTokens(identity, Memory(result.token_cache), object_id=result.object_id)
    http = AiohttpTransport(running.urls.graph, running.ssl_context())
    try:
        async with httpx.AsyncClient(base_url=running.urls.control) as control:
            yield Signed(
                http,
                control,
                tokens,
                running,
                f"{DEMO_TENANT_ID}/{user.id}",
                RequestCounter(),
                MailboxSlots(),
            )
    finally:
        await http.aclose()


def writes(k: int) -> list[EventWrite]:
    day = NOW + timedelta(days=2)
    return [
        EventWrite(
            f"Task {n}",
            "<p>x</p>",
            day,
            day + timedelta(hours=1),
            10,
            (),
            task_ref=f"tls:{n}",
            transaction_id=f"tls-tx-{n}",
        )
        for n in range(k)
    ]


async def test_a_hanging_batch_over_a_socket_is_cut_and_sent_again_once_R16(
    signed: Signed,
) -> None:
    fault = {
        "method": "POST",
        "path": "/$batch",
        "kind": "applied_then_timeout",
        "timeout_seconds": 3,
    }
    assert (await signed.control.post("/faults", json=fault)).status_code == 201
    calendar = graph_calendar(
        signed.http,
        signed.tokens,
        counter=signed.counter,
        policy=RetryPolicy(request_timeout=0.5),
    )
    results = await create_events(calendar, writes(3))
    assert [r.status for r in results] == [WriteStatus.OK] * 3
    assert signed.subjects() == Counter({"Task 0": 1, "Task 1": 1, "Task 2": 1})
    assert signed.counter.by_key[("POST", "$batch", "timeout")] == 1


async def test_a_throttled_batch_over_a_socket_waits_its_retry_after_R23b(signed: Signed) -> None:
    fault = {"method": "POST", "path": "/$batch", "kind": "throttle", "retry_after": 1}
    assert (await signed.control.post("/faults", json=fault)).status_code == 201
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    calendar = graph_calendar(
        signed.http, signed.tokens, counter=signed.counter, pacing=Pacing(sleep=sleep)
    )
    results = await create_events(calendar, writes(2))
    assert [r.status for r in results] == [WriteStatus.OK] * 2
    assert waits == [1.0]


async def test_at_most_four_requests_in_flight_over_a_socket_R23b(signed: Signed) -> None:
    signed.running.emulator.latency_ms = 30
    try:
        calendar = graph_calendar(signed.http, signed.tokens, counter=signed.counter)
        created = await create_events(calendar, writes(8))
        ids = [r.event.id for r in created if r.event]
        await asyncio.gather(
            *(calendar.get_event(i) for i in ids),
            create_events(calendar, writes(25)[8:]),
            calendar.read_window(None, NOW, NOW + timedelta(days=14)),
        )
    finally:
        signed.running.emulator.latency_ms = 0
    stats = (await signed.control.get("/stats")).json()
    assert stats["max_in_flight"][signed.mailbox] <= 4
    assert not [k for k in signed.counter.by_key if k[2] == "429"]
