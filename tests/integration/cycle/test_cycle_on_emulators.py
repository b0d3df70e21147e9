"""The cycle through the real connectors and both emulators (issue 9): MSAL sign-in,
the Graph adapter over TLS, the System Five connector on SQLite."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cycle_stack import Stack, emulator_running, stack

from m365emu.testing import RunningEmulator

NOW = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)  # 10:00 in New York
ALICE = "alice@contoso.example"


@pytest.fixture(scope="module")
def running() -> Iterator[RunningEmulator]:
    with emulator_running() as emulator:
        yield emulator


@pytest.fixture
async def world(tmp_path: Path, running: RunningEmulator) -> AsyncIterator[Stack]:
    running.emulator.reset()
    from cycle_stack import CLIENT_ID, CLIENT_SECRET, REDIRECT

    from m365emu.demo import register_app, seed_demo

    seed_demo(running.emulator)
    register_app(
        running.emulator,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        redirect_uris=[REDIRECT],
    )
    async with stack(tmp_path, running) as built:
        await built.sign_in(ALICE, "Alice Martin")
        yield built


async def test_push_then_idle_cycle_costs_one_request_and_writes_nothing_R1_R17(
    world: Stack,
) -> None:
    world.add_task(ALICE, "delivery", "Deliver sofa", "2026-11-26T10:00:00", "2026-11-26T11:00:00")
    first = await world.cycle(ALICE, NOW)
    assert first.outcome == "ok", first.error
    [event] = world.events(ALICE)
    assert event["subject"] == "Deliver sofa"
    assert "Received From System5" in event["categories"]
    second = await world.cycle(ALICE, NOW + timedelta(minutes=10))
    assert second.outcome == "ok", second.error
    assert second.wrote == 0
    assert sum(second.requests.values()) == 1, second.requests
    assert len(world.events(ALICE)) == 1


async def test_tagged_outlook_event_is_imported_once_R8_R9_R16(world: Stack) -> None:
    with world.graph(ALICE) as graph:
        graph.post(
            "/me/events",
            json={
                "subject": "Measure kitchen [sync]",
                "start": {"dateTime": "2026-11-30T15:00:00", "timeZone": "UTC"},
                "end": {"dateTime": "2026-11-30T16:00:00", "timeZone": "UTC"},
                "body": {"contentType": "html", "content": "<p>Bring the <b>laser</b></p>"},
            },
        ).raise_for_status()
    result = await world.cycle(ALICE, NOW)
    assert result.outcome == "ok", result.error
    tasks = [t for t in world.desk.day(datetime(2026, 11, 30).date(), NOW.date(), None)]
    imported = [t for t in tasks if t.external_ref]
    assert [t.title for t in imported] == ["Measure kitchen"]
    assert imported[0].needs_review
    assert imported[0].starts_at == "2026-11-30T10:00:00"
    again = await world.cycle(ALICE, NOW + timedelta(minutes=10))
    assert again.wrote == 0, again.entries
