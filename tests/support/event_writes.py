"""Creates alone and updates alone, through the one write call a `CalendarGateway` has
(`write_events`, which sends both kinds in the same `$batch`es): the shape most gateway
tests want."""

from __future__ import annotations

from collections.abc import Sequence

from s5sync.sync.ports import CalendarGateway, EventUpdate, EventWrite, WriteResult


async def create_events(
    gateway: CalendarGateway, writes: Sequence[EventWrite]
) -> list[WriteResult]:
    """One result per write, in order."""
    return (await gateway.write_events(writes, []))[0]


async def update_events(
    gateway: CalendarGateway, updates: Sequence[EventUpdate]
) -> list[WriteResult]:
    """One result per update, in order."""
    return (await gateway.write_events([], updates))[1]
