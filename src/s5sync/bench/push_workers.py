"""Two procrastinate workers for the push bench (issue 19): "a tagged event created in
Outlook is a task in System Five within 3 s … on two procrastinate workers".

`procrastinate_workers(...)` applies procrastinate's schema to the world's CALENDAREVENT
database, starts two `bench/push_worker.py` processes (the production worker at real
speed) and yields the web side's `DeferringNudge`: the bench's notification endpoint then
turns "this user changed" into the user's cycle job with the user's queueing lock, as
`s5sync serve` does with `S5SYNC_SCHEDULER=procrastinate`. On leaving, the queue's due
cycle jobs are left to finish, then the workers get SIGTERM.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from s5sync.bench.world import EmulatorProcess
from s5sync.scheduling.distributed import apply_schema, build_app
from s5sync.scheduling.push_jobs import DeferringNudge
from s5sync.settings import Settings

WORKERS = 2
STOP_SECONDS = 30.0


def procrastinate_settings(settings: Settings, dsn: str) -> Settings:
    """The world's settings on the distributed scheduler, its queue in `dsn`."""
    return settings.model_copy(update={"scheduler": "procrastinate", "procrastinate_dsn": dsn})


async def _drained(nudge: DeferringNudge) -> None:
    """Wait until no cycle job is due or running (a redelivered notification's "one more"
    cycle may still be queued): a worker stopped mid-cycle would leave its lease held
    for the lease's length, and the bench's next part would wait for it."""
    for _ in range(int(STOP_SECONDS / 0.2)):
        if not await nudge.busy_cycles():
            return
        await asyncio.sleep(0.2)


@asynccontextmanager
async def procrastinate_workers(
    settings: Settings, emulator: EmulatorProcess, s5_url: str, tokens: dict[str, str]
) -> AsyncIterator[DeferringNudge]:
    await apply_schema(settings)
    folder = Path(tempfile.mkdtemp(prefix="s5sync-bench-workers-"))
    (folder / "tokens.json").write_text(json.dumps(tokens))
    env = {
        **os.environ,
        "S5SYNC_DATABASE_URL": settings.database_url,
        "S5SYNC_SECRET_KEYS": settings.secret_keys.get_secret_value(),
        "S5SYNC_SCHEDULER": "procrastinate",
        "S5SYNC_PROCRASTINATE_DSN": settings.procrastinate_dsn,
        "BENCH_GRAPH": emulator.urls["graph"],
        "BENCH_CA": emulator.urls["ca"],
        "BENCH_S5": s5_url,
        "BENCH_TOKENS": str(folder / "tokens.json"),
    }
    log = (folder / "workers.log").open("ab")
    workers = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-m", "s5sync.bench.push_worker", env=env, stdout=log, stderr=log
        )
        for _ in range(WORKERS)
    ]
    nudge = DeferringNudge(build_app(settings))
    try:
        yield nudge
        for worker in workers:
            if worker.returncode is not None:
                raise RuntimeError(f"a worker stopped early; see {folder / 'workers.log'}")
        await _drained(nudge)
    finally:
        await nudge.aclose()
        for worker in workers:
            if worker.returncode is None:
                worker.terminate()
        for worker in workers:
            try:
                await asyncio.wait_for(worker.wait(), STOP_SECONDS)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    worker.kill()
                await worker.wait()
        log.close()
