"""Every fault kind of the emulator's control plane against the Graph adapter (R16, R17b,
R23b): a throttled, failing, timing-out or applied-then-timed-out request ends with
exactly one event per write and nothing lost, waits as Graph asked, and never has more
than 4 requests in flight for the mailbox."""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import replace
from datetime import timedelta

import pytest

from s5sync.outlook.errors import DeadlineReached, GraphRejected, Throttled
from s5sync.outlook.session import RetryPolicy
from s5sync.sync.ports import EventUpdate, WriteStatus
from support.event_writes import create_events, update_events
from support.graph_adapter_harness import FIXED_NOW, WINDOW, Emu, a_write

FAST = RetryPolicy(request_timeout=0.5, max_attempts=4)


def one_event_per_write(emu: Emu, k: int, run: str = "r") -> None:
    refs = Counter(
        prop["value"]
        for event in emu.events()
        for prop in (event.extended or [])
        if isinstance(prop, dict) and "s5sync.task" in str(prop.get("id"))
    ) or Counter(e.transaction_id for e in emu.events())
    subjects = Counter(e.subject for e in emu.events())
    assert sorted(subjects) == sorted(f"Task {n}" for n in range(k))
    assert set(subjects.values()) == {1}, f"duplicates: {subjects}"
    assert sum(refs.values()) == k


async def test_a_throttled_read_waits_retry_after_then_reads_R23b(emu: Emu) -> None:
    await emu.fault(method="GET", path="/me/calendarView/delta", kind="throttle", retry_after=7)
    read = await emu.calendar().read_window(None, *WINDOW)
    assert read.rebaselined
    assert emu.sleeps.seconds == [7.0]
    assert emu.counter.by_key[("GET", "calendarView/delta", "429")] == 1
    assert emu.counter.by_key[("GET", "calendarView/delta", "200")] == 1


async def test_a_fractional_retry_after_is_waited_exactly_R23b(emu: Emu) -> None:
    # Graph may ask for fractions of a second (throttling.md: "Retry-After: 2.128"; issue 24).
    await emu.fault(method="GET", path="/me/calendarView/delta", kind="throttle", retry_after=2.128)
    read = await emu.calendar().read_window(None, *WINDOW)
    assert read.rebaselined
    assert emu.sleeps.seconds == [2.128]


async def test_a_long_retry_after_ends_the_cycle_with_when_to_come_back_R23b(emu: Emu) -> None:
    await emu.fault(method="GET", path="/me/calendarView/delta", kind="throttle", retry_after=120)
    with pytest.raises(Throttled) as raised:
        await emu.calendar().read_window(None, *WINDOW)
    assert raised.value.retry_at == FIXED_NOW + timedelta(seconds=120)
    assert emu.sleeps.seconds == []


@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_server_errors_on_a_batch_are_retried_with_backoff_and_create_once_R16(
    emu: Emu, status: int
) -> None:
    await emu.fault(method="POST", path="/$batch", kind="error", status=status, count=2)
    results = await create_events(emu.calendar(), [a_write(n) for n in range(3)])
    assert [r.status for r in results] == [WriteStatus.OK] * 3
    one_event_per_write(emu, 3)
    assert len(emu.sleeps.seconds) == 2
    assert all(0 < s <= FAST.max_delay for s in emu.sleeps.seconds)


async def test_a_throttled_item_inside_a_batch_is_retried_alone_after_its_retry_after_R23b(
    emu: Emu,
) -> None:
    await emu.fault(method="POST", path="/me/events", kind="throttle", retry_after=3, count=1)
    results = await create_events(emu.calendar(), [a_write(n) for n in range(5)])
    assert [r.status for r in results] == [WriteStatus.OK] * 5
    one_event_per_write(emu, 5)
    assert emu.sleeps.seconds == [3.0]
    assert emu.counter.count("POST", "$batch") == 2
    assert emu.counter.batch_items[("POST", "events", "201")] == 5
    assert emu.counter.batch_items[("POST", "events", "429")] == 1


async def test_an_item_still_throttled_past_patience_is_not_done_with_retry_at_R23b(
    emu: Emu,
) -> None:
    await emu.fault(method="POST", path="/me/events", kind="throttle", retry_after=300, count=1)
    results = await create_events(emu.calendar(), [a_write(n) for n in range(3)])
    statuses = Counter(r.status for r in results)
    assert statuses == {WriteStatus.OK: 2, WriteStatus.NOT_DONE: 1}
    (waiting,) = [r for r in results if r.status is WriteStatus.NOT_DONE]
    assert waiting.retry_at == FIXED_NOW + timedelta(seconds=300)
    assert len(emu.events()) == 2  # the next cycle creates the third: nothing lost


async def test_a_timed_out_batch_is_sent_again_and_creates_once_R16(emu: Emu) -> None:
    await emu.fault(method="POST", path="/$batch", kind="timeout", timeout_seconds=5)
    results = await create_events(emu.calendar(policy=FAST), [a_write(n) for n in range(4)])
    assert [r.status for r in results] == [WriteStatus.OK] * 4
    one_event_per_write(emu, 4)
    assert emu.counter.by_key[("POST", "$batch", "timeout")] == 1


async def test_an_applied_then_timed_out_batch_creates_each_event_once_R16(emu: Emu) -> None:
    await emu.fault(method="POST", path="/$batch", kind="applied_then_timeout", timeout_seconds=5)
    results = await create_events(emu.calendar(policy=FAST), [a_write(n) for n in range(4)])
    assert [r.status for r in results] == [WriteStatus.OK] * 4
    one_event_per_write(emu, 4)
    ids = {e.id for e in emu.events()}
    assert {r.event.id for r in results if r.event} == ids  # the events that exist
    assert emu.counter.by_key[("POST", "$batch", "timeout")] == 1
    assert emu.counter.batch_items[("GET", "events", "200")] == 4  # verified by lookup


@pytest.mark.parametrize("kind", ["timeout", "applied_then_timeout"])
async def test_a_create_item_that_timed_out_is_not_duplicated_R16(emu: Emu, kind: str) -> None:
    await emu.fault(method="POST", path="/me/events", kind=kind, timeout_seconds=0.01)
    results = await create_events(emu.calendar(), [a_write(n) for n in range(3)])
    assert [r.status for r in results] == [WriteStatus.OK] * 3
    one_event_per_write(emu, 3)
    assert {r.event.id for r in results if r.event} == {e.id for e in emu.events()}
    assert emu.counter.batch_items[("POST", "events", "504")] == 1
    assert emu.counter.batch_items[("GET", "events", "200")] == 1  # verified by lookup


async def test_a_timed_out_read_is_retried_R17b(emu: Emu) -> None:
    await emu.fault(method="GET", path="/me/calendarView/delta", kind="timeout", timeout_seconds=5)
    read = await emu.calendar(policy=FAST).read_window(None, *WINDOW)
    assert read.rebaselined
    assert emu.counter.by_key[("GET", "calendarView/delta", "timeout")] == 1


async def test_a_per_cycle_deadline_stops_a_hanging_request(emu: Emu) -> None:
    await emu.fault(method="GET", path="/me/calendarView/delta", kind="timeout", timeout_seconds=5)
    loop = asyncio.get_running_loop()
    calendar = emu.calendar(deadline=loop.time() + 0.2)
    calendar.session.pacing = type(calendar.session.pacing)(
        sleep=emu.sleeps, monotonic=loop.time, now=lambda: FIXED_NOW, random=lambda: 0.5
    )
    with pytest.raises(DeadlineReached):
        await calendar.read_window(None, *WINDOW)


async def test_never_more_than_four_requests_in_flight_per_mailbox_R23b(emu: Emu) -> None:
    emu.parts.set_latency(20)
    calendar = emu.calendar()
    created = await create_events(calendar, [a_write(n) for n in range(30)])
    ids = [r.event.id for r in created if r.event]
    await asyncio.gather(
        create_events(calendar, [a_write(n, "s") for n in range(25)]),
        *(calendar.get_event(i) for i in ids[:12]),
        calendar.find_by_task_refs([f"r:{n}" for n in range(10)]),
        calendar.read_window(None, *WINDOW),
    )
    stats = await emu.stats()
    assert max(stats["max_in_flight"].values()) <= 4
    assert emu.slots.high_water <= 4
    throttled = [k for k in emu.counter.by_key if k[2] == "429"]
    throttled += [k for k in emu.counter.batch_items if k[2] == "429"]
    assert throttled == []


async def test_a_rejected_token_is_refreshed_once_then_the_request_succeeds_R19b(
    emu: Emu,
) -> None:
    class StaleFirst:
        forced = 0

        async def token(self, *, force_refresh: bool = False) -> str:
            if force_refresh:
                self.forced += 1
                return await emu.tokens.token(force_refresh=True)
            return "expired-or-garbage"

    tokens = StaleFirst()
    read = await emu.calendar(tokens=tokens).read_window(None, *WINDOW)
    assert read.rebaselined
    assert tokens.forced == 1
    assert emu.counter.by_key[("GET", "calendarView/delta", "401")] == 1


async def test_a_token_refused_after_its_refresh_gives_up_R19b(emu: Emu) -> None:
    class AlwaysBad:
        async def token(self, *, force_refresh: bool = False) -> str:
            return "garbage"

    with pytest.raises(GraphRejected) as raised:
        await emu.calendar(tokens=AlwaysBad()).read_window(None, *WINDOW)
    assert raised.value.status == 401
    assert emu.counter.count("GET", "calendarView/delta") == 2


async def test_a_lookup_throttled_past_patience_ends_the_cycle_with_retry_at_R23b(
    emu: Emu,
) -> None:
    await emu.fault(method="GET", path="/me/events", kind="throttle", retry_after=90)
    with pytest.raises(Throttled) as raised:
        await emu.calendar().find_by_task_refs(["r:1"])
    assert raised.value.retry_at == FIXED_NOW + timedelta(seconds=90)


async def test_an_applied_then_timed_out_update_is_recognised_as_ours_not_a_conflict_R17(
    emu: Emu,
) -> None:
    calendar = emu.calendar()
    created = await create_events(calendar, [a_write(n) for n in range(2)])
    await emu.fault(
        method="PATCH", path="/me/events/*", kind="applied_then_timeout", timeout_seconds=0.01
    )
    moved = [a_write(n, "r") for n in range(2)]
    moved = [replace(w, subject=f"Moved {n}") for n, w in enumerate(moved)]
    results = await update_events(
        calendar,
        [
            EventUpdate(r.event.id, r.event.change_key, w)
            for r, w in zip(created, moved, strict=True)
            if r.event
        ],
    )
    assert [r.status for r in results] == [WriteStatus.OK, WriteStatus.OK]
    assert sorted(e.subject for e in emu.events()) == ["Moved 0", "Moved 1"]
    assert emu.counter.batch_items[("PATCH", "events/{id}", "412")] == 1  # the resend


async def test_an_update_after_a_real_user_edit_stays_a_conflict_R12b(emu: Emu) -> None:
    calendar = emu.calendar()
    (created,) = await create_events(calendar, [a_write(0)])
    assert created.event
    await emu.user.edits(created.event.id, subject="Edited by the user")
    (result,) = await update_events(
        calendar, [EventUpdate(created.event.id, created.event.change_key, a_write(0))]
    )
    assert result.status is WriteStatus.CONFLICT
