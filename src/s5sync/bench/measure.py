"""What the benchmark measures with: its sizes, the physical minimum of Graph requests
(R17, R23b: an idle cycle costs one request, writes go 20 to a `$batch`), a CPU timer
over the cycles alone, and the progress line (issue 12)."""

from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from s5sync.bench.world import PAGE
from s5sync.core.decisions import CreateEvent, UpdateEvent
from s5sync.core.records import UserRecord
from s5sync.sync.engine import CycleEngine, CycleResult

TEN_MINUTES = 600.0
# Cycles in flight at once, as `s5sync worker --concurrency 48` runs them: at 50 ms a
# Graph request, fewer would leave one process waiting on the network before its CPU is
# busy. A cycle holds a database connection only inside its two short transactions, so
# this may exceed the pool (5 + 10).
CONCURRENCY = 48
SAMPLE = 50  # users measured with 5 changes against the emulator


@dataclass(frozen=True)
class BenchConfig:
    fake_users: int
    rounds: int
    calendar_sizes: tuple[int, ...]
    emulator_users: tuple[int, ...]
    latency_ms: int
    concurrency: int
    quick: bool

    @classmethod
    def sized(cls, *, quick: bool, latency_ms: int = 50) -> BenchConfig:
        if quick:
            return cls(20, 2, (0, 100), (20, 60), latency_ms, CONCURRENCY, True)
        return cls(200, 3, (0, 100, 1000), (1_000, 10_000), latency_ms, CONCURRENCY, False)


def progress(what: str) -> None:
    """One line on stderr, so a 10-minute run says where it is (stdout stays JSON)."""
    print(f"bench: {what}", file=sys.stderr, flush=True)


def graph_writes(result: CycleResult) -> int:
    return sum(isinstance(d, CreateEvent | UpdateEvent) for d in result.decisions)


def minimum(k: int, m: int) -> int:
    """The physical minimum of Graph requests for k writes and m inbound changes."""
    return max(1, math.ceil(m / PAGE)) + math.ceil(k / 20)


def requests(result: CycleResult) -> int:
    return int(result.requests.get("requests", 0))


class Timer:
    """CPU of this process spent inside the cycles only (setup excluded)."""

    def __init__(self) -> None:
        self.cpu = 0.0
        self.cycles = 0

    async def cycle(self, engine: CycleEngine, user: UserRecord, now: datetime) -> CycleResult:
        start = time.process_time()
        result = await engine.run_user_cycle(user, now)
        self.cpu += time.process_time() - start
        self.cycles += 1
        return result

    @property
    def ms(self) -> float:
        return round(1000 * self.cpu / max(1, self.cycles), 2)


def later(now: datetime, n: int) -> datetime:
    """The cycles of round n: past every user's next run (interval 10 min)."""
    return now + timedelta(minutes=11 * n)
