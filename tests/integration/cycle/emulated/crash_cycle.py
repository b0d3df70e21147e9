"""Run one cycle of one user in this process and die by SIGKILL at its n-th write (R16).

    python crash_cycle.py ENV_FILE EMAIL NOW_ISO N before|after [wait]

Builds the services from the env file exactly as `s5sync sync` does, wraps both ports in
`s5sync.testing.crashing` with `kill_now`, and runs the cycle: at the n-th write the
process is killed, so no `finally`, rollback or lease release runs. Exits 0 (printing the
outcome and the writes seen) only if the cycle made fewer than n writes; N = 0 never
fails. With `wait` it prints "ready" once built and waits for a line on stdin, so two
processes can start their cycles at the same moment.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path

from s5sync.core.records import TenantRecord, UserRecord
from s5sync.entrypoints.bootstrap import build_services
from s5sync.settings import load_settings
from s5sync.sync.engine import CycleEngine
from s5sync.sync.ports import UserPorts
from s5sync.testing.crashing import CrashingCalendar, CrashingTaskStore, WritePlan, kill_now


async def main(env: str, email: str, now: str, at: int, after: bool, go: str | None) -> None:
    services = build_services(load_settings(Path(env)))
    plan = WritePlan(at=at or None, after=after, fail=kill_now)

    @asynccontextmanager
    async def ports_for(user: UserRecord, tenant: TenantRecord) -> AsyncIterator[UserPorts]:
        async with services.ports_for(user, tenant) as ports:
            yield UserPorts(
                CrashingTaskStore(ports.tasks, plan),
                CrashingCalendar(ports.calendar, plan),
                ports.requests,
            )

    [user] = await services.directory.find_users(email)
    engine = CycleEngine(services, ports_for, holder=f"subprocess-{os.getpid()}")
    if go is not None:
        print("ready", flush=True)
        await asyncio.to_thread(sys.stdin.readline)
    result = await engine.run_user_cycle(user, datetime.fromisoformat(now))
    await services.aclose()
    print(result.outcome, plan.count)


if __name__ == "__main__":
    go = sys.argv[6] if len(sys.argv) > 6 else None
    env, email, now = sys.argv[1:4]
    asyncio.run(main(env, email, now, int(sys.argv[4]), sys.argv[5] == "after", go))
