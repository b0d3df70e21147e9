"""Reading the window against the emulator (DESIGN.md "Requests per cycle: the minimum"):
with p items per page, a baseline of m events costs ceil(m/p) requests, an idle cycle 1,
and a cycle with a few changes 1 more page at most; deletions arrive as removed."""

from __future__ import annotations

import math
from datetime import timedelta

from support.graph_adapter_harness import NOW, WINDOW, Emu


async def test_a_baseline_pages_an_idle_cycle_costs_one_request_R23b(emu: Emu) -> None:
    day = NOW + timedelta(days=3)
    ids = [await emu.user.creates(f"E{n}", day, day + timedelta(hours=1)) for n in range(7)]
    calendar = emu.calendar(page_size=3)
    first = await calendar.read_window(None, *WINDOW)
    assert {c.event_id for c in first.changed} == set(ids)
    baseline = emu.counter.total
    assert baseline == math.ceil(7 / 3)
    idle = await emu.calendar(page_size=3).read_window(first.delta_link, *WINDOW)
    assert (idle.changed, idle.removed) == ([], [])
    assert emu.counter.total - baseline == 1
    await emu.user.edits(ids[0], subject="E0 [sync]")
    await emu.user.deletes(ids[1])
    before = emu.counter.total
    busy = await emu.calendar(page_size=3).read_window(idle.delta_link, *WINDOW)
    assert [c.event_id for c in busy.changed] == [ids[0]]
    assert busy.removed == [ids[1]]
    assert emu.counter.total - before == 1


async def test_an_event_moved_out_of_the_window_arrives_as_removed_R7b(emu: Emu) -> None:
    day = NOW + timedelta(days=3)
    event_id = await emu.user.creates("Moving", day, day + timedelta(hours=1))
    first = await emu.calendar().read_window(None, *WINDOW)
    far = NOW + timedelta(days=90)
    await emu.user.edits(
        event_id,
        start={"dateTime": far.replace(tzinfo=None).isoformat(), "timeZone": "UTC"},
        end={
            "dateTime": (far + timedelta(hours=1)).replace(tzinfo=None).isoformat(),
            "timeZone": "UTC",
        },
    )
    later = await emu.calendar().read_window(first.delta_link, *WINDOW)
    assert later.removed == [event_id]
    still = await emu.calendar().get_event(event_id)  # R7b: confirm before calling it deleted
    assert still is not None
    assert still.start == far
