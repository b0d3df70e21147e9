"""The cycle over in-memory fakes of both sides, as the fixture `world` builds it
(conftest.py): kept in its own module so tests import it by a unique name."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from s5sync.core.records import UserRecord
from s5sync.core.snapshots import Link
from s5sync.entrypoints.bootstrap import Services
from s5sync.sync.engine import CycleEngine, CycleResult
from s5sync.testing.calendar import FakeCalendarGateway
from s5sync.testing.tasks import FakeTaskStore

NOW = datetime(2026, 11, 25, 14, 0, tzinfo=UTC)


@dataclass
class World:
    services: Services
    engine: CycleEngine
    tasks: FakeTaskStore
    calendar: FakeCalendarGateway
    user: UserRecord
    employee_id: int
    clock: Callable[[], datetime]
    now: datetime = NOW

    async def cycle(self) -> CycleResult:
        return await self.engine.run_user_cycle(self.user, self.now)

    def requests(self) -> int:
        return self.calendar.counter.total

    async def links(self) -> list[Link]:
        async with self.services.scope(self.user.tenant_id).begin(write=False) as unit:
            return list(await unit.links.all(self.user.id))
