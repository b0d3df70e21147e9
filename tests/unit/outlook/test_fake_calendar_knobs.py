"""The fake gateway's knobs, which the cycle's tests rely on (R17b, R19b, R23b)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from s5sync.outlook.errors import GraphUnavailable, NeedsSignIn
from s5sync.sync.ports import EventWrite, WriteStatus
from s5sync.testing.calendar import FakeCalendarGateway
from support.event_writes import create_events

NOW = datetime(2026, 11, 25, 20, tzinfo=UTC)


def a_write(n: int) -> EventWrite:
    return EventWrite(
        f"T{n}",
        "<p>b</p>",
        NOW + timedelta(days=1),
        NOW + timedelta(days=1, hours=1),
        None,
        (),
        task_ref=f"t{n}",
        transaction_id=f"x{n}",
    )


async def test_fail_next_raises_once_then_works_R17b() -> None:
    fake = FakeCalendarGateway()
    fake.fail_next(GraphUnavailable("down"))
    with pytest.raises(GraphUnavailable):
        await fake.read_window(None, NOW, NOW + timedelta(days=14))
    assert (await fake.read_window(None, NOW, NOW + timedelta(days=14))).rebaselined


async def test_not_done_writes_carry_retry_at_and_nothing_is_created_R23b() -> None:
    fake = FakeCalendarGateway()
    fake.not_done_next(1, NOW + timedelta(minutes=5))
    first, second = await create_events(fake, [a_write(1), a_write(2)])
    assert first.status is WriteStatus.NOT_DONE
    assert first.retry_at == NOW + timedelta(minutes=5)
    assert second.status is WriteStatus.OK
    assert [e.subject for e in fake.events()] == ["T2"]


async def test_a_revoked_user_gets_needs_sign_in_on_every_call_R19b() -> None:
    fake = FakeCalendarGateway()
    fake.needs_sign_in = True
    with pytest.raises(NeedsSignIn):
        await fake.ensure_category("Received From System5", "preset4")


async def test_pages_are_counted_like_graph_R23b() -> None:
    fake = FakeCalendarGateway(page_size=2)
    for n in range(5):
        fake.user_creates(f"E{n}", NOW + timedelta(days=1), NOW + timedelta(days=1, hours=1))
    await fake.read_window(None, NOW, NOW + timedelta(days=14))
    assert fake.counter.total == 3
