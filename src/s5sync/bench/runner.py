"""The measurements of `s5sync bench` (issue 12; R17, R23b: an idle cycle costs one Graph
request, writes go 20 to a `$batch`).

1. Graph requests per cycle against the physical minimum — idle: 1; k writes and m
   inbound changes: max(1, ceil(m / page)) + ceil(k / 20) — as a ratio;
2. CPU of this process (`time.process_time`) per idle cycle and per cycle with 5
   changes, on in-memory fakes (the engine alone) and against the emulator in its own
   process with the databases in PostgreSQL's processes;
3. throughput: one pass of idle cycles over N users at a set Graph latency, as
   user-cycles per 10 minutes (measured), and 100,000 users extrapolated from the
   measured CPU per cycle;
4. how CPU per cycle grows with users and with events in the window;
5. peak memory of this process (`ru_maxrss`).
"""

from __future__ import annotations

import resource
import time
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from s5sync.bench.emulated import run_emulator
from s5sync.bench.fakes import run_fakes
from s5sync.bench.measure import BenchConfig, progress
from s5sync.bench.world import scratch_databases

__all__ = ["BenchConfig", "run_bench"]  # BenchConfig too: `s5sync bench` sizes it here


async def run_bench(config: BenchConfig) -> dict[str, Any]:
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    started = time.monotonic()
    async with scratch_databases(("fakes", "ce", "s5")) as urls:
        backend = "postgresql" if urls["ce"].startswith("postgresql") else "sqlite"
        progress("the engine alone, on fakes")
        fakes = await run_fakes(config, None, now)
        progress("the engine on fakes, CALENDAREVENT in the database")
        stored = await run_fakes(config, urls["fakes"], now)
        emulator = await run_emulator(config, urls, now)
    return {
        "config": asdict(config),
        "database": backend,
        "engine_on_fakes": fakes,
        "engine_with_database": stored,
        "worker_on_emulator": emulator,
        "peak_memory_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "elapsed_s": round(time.monotonic() - started, 1),
        "notes": [
            "measured: every figure except the one named *_extrapolated",
            "engine alone: System Five, Outlook and the CALENDAREVENT rows in memory "
            "(s5sync.testing); engine with database: the same with CALENDAREVENT in "
            "the database named",
            "events in the window: events of the user's own (untagged, unlinked), which "
            "an idle cycle must not pay for",
            "extrapolated: 100,000 users = 10 minutes of CPU / measured CPU per idle cycle "
            "at the largest measured size",
            "worker CPU = time.process_time() of this process; the emulator and the "
            "databases run in other processes",
            "tokens: the cycles above take them from the emulator's control plane; the "
            "token path (sealed MSAL cache loaded, MSAL's answer, a refresh one cycle in "
            "six) is measured on a sample signed in through MSAL and added in "
            "*_with_token",
        ],
    }
