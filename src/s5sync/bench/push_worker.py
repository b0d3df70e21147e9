"""One `s5sync worker` of the push bench's two-worker latency (issue 19; bench/push_workers.py).

The production worker — `DistributedScheduler.run_worker` on procrastinate, at real speed,
the cycle engine's lease and fence — with the bench's two seams: Graph tokens come from a
file the bench wrote (the emulator's control plane made them, as in the rest of the
bench) instead of MSAL, and the ports are the bench's (`EmulatorFleet`: the emulator's
Graph over TLS, System Five in PostgreSQL). Configured by its environment:
`S5SYNC_DATABASE_URL`, `S5SYNC_SECRET_KEYS`, `S5SYNC_SCHEDULER=procrastinate`,
`S5SYNC_PROCRASTINATE_DSN`, and `BENCH_GRAPH`, `BENCH_CA`, `BENCH_S5`, `BENCH_TOKENS`.
Stops gracefully on SIGTERM (running cycles finish).
"""

from __future__ import annotations

import asyncio
import json
import os
import ssl
from pathlib import Path

from s5sync.bench.world import ZONE, EmulatorFleet, utc_now
from s5sync.entrypoints.bootstrap import build_services
from s5sync.outlook.clients import GraphClients
from s5sync.scheduling.distributed import DistributedScheduler, build_app, holder_name
from s5sync.settings import load_settings
from s5sync.sync.engine import CycleEngine
from s5sync.systemfive.adapter import SqlTaskStore

CONCURRENCY = 10  # `s5sync worker`'s default --concurrency


async def main(tokens: dict[str, str]) -> None:
    settings = load_settings()
    services = build_services(settings)
    graph = GraphClients(
        os.environ["BENCH_GRAPH"], ssl.create_default_context(cafile=os.environ["BENCH_CA"])
    )
    tasks = SqlTaskStore(os.environ["BENCH_S5"], ZONE)
    fleet = EmulatorFleet(services, tasks, graph, tokens)
    engine = CycleEngine(services, fleet.ports_for, holder=holder_name())
    scheduler = DistributedScheduler(build_app(settings), services.directory, engine, clock=utc_now)
    try:
        await scheduler.run_worker(CONCURRENCY)
    finally:
        await graph.aclose()
        await tasks.close()
        await services.aclose()


if __name__ == "__main__":
    asyncio.run(main(json.loads(Path(os.environ["BENCH_TOKENS"]).read_text())))
