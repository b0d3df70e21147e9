"""The run history is in the order the runs really ran (issue 23 item 6; R18, R21): a
cycle run with a future `now` (`s5sync sync --now`, or a clock that jumped) does not stay
at the top, and the dashboard's "Last sync" is the latest run."""

from __future__ import annotations

from datetime import timedelta

from support.cycle_stack import Stack
from support.emulated_world import ALICE, NOW


async def test_a_run_with_a_future_now_does_not_stay_at_the_top_R18(world: Stack) -> None:
    future = await world.cycle(ALICE, NOW + timedelta(days=700))
    latest = await world.cycle(ALICE, NOW)
    async with world.services.scope(world.tenant.id).begin(write=False) as unit:
        runs = await unit.runs.runs(world.users[ALICE].id)
    assert [r.id for r in runs] == [latest.run_id, future.run_id]
