"""`s5sync worker` and `s5sync bench` (DESIGN.md "Scheduling"; R14, R23b).

`worker` runs one process of the distributed scheduler (dispatcher, reaper and cycles)
until SIGTERM; `bench` measures Graph requests, CPU, throughput and memory of the cycle
(docs/performance.md). Both are registered on the main app by `install`.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Annotated

import typer

from s5sync.settings import Settings


def install(app: typer.Typer, load: Callable[[], Settings]) -> None:
    """Add `worker` and `bench` to the `s5sync` command."""

    @app.command()
    def worker(
        concurrency: Annotated[
            int, typer.Option("--concurrency", min=1, help="Cycles run at once.")
        ] = 10,
    ) -> None:
        """Run a worker of the distributed scheduler (PostgreSQL) until SIGTERM."""
        settings = load()
        if settings.scheduler != "procrastinate":
            typer.echo("s5sync worker: set S5SYNC_SCHEDULER=procrastinate", err=True)
            raise typer.Exit(2)
        from s5sync.entrypoints.serving import check_database, check_database_file
        from s5sync.scheduling.distributed import procrastinate_dsn
        from s5sync.settings import SettingsError

        try:
            procrastinate_dsn(settings)
            check_database_file(settings)
            asyncio.run(check_database(settings))  # reachable, upgraded, its role (R22)
            asyncio.run(run_worker(settings, concurrency))
        except (ValueError, SettingsError) as error:
            typer.echo(f"s5sync worker: {error}", err=True)
            raise typer.Exit(2) from None

    @app.command()
    def bench(
        quick: Annotated[bool, typer.Option("--quick", help="Small sizes, for CI.")] = False,
        as_json: Annotated[bool, typer.Option("--json", help="Figures as JSON on stdout.")] = False,
        latency_ms: Annotated[
            int, typer.Option("--latency-ms", help="The emulator's answer latency.")
        ] = 50,
        push_only: Annotated[
            bool, typer.Option("--push-only", help="Only the change-notification figures.")
        ] = False,
    ) -> None:
        """Measure requests per cycle, CPU per cycle, throughput and memory, and what
        change notifications cost and gain (push vs poll, issue 19)."""
        from s5sync.bench.push import PushBenchConfig, run_push
        from s5sync.bench.push_report import render_push
        from s5sync.bench.report import render
        from s5sync.bench.runner import BenchConfig, run_bench

        push_config = PushBenchConfig.sized(quick=quick, latency_ms=latency_ms)
        if push_only:
            figures = {"push": asyncio.run(run_push(push_config))}
        else:
            figures = asyncio.run(run_bench(BenchConfig.sized(quick=quick, latency_ms=latency_ms)))
            figures["push"] = asyncio.run(run_push(push_config))
        if as_json:
            typer.echo(json.dumps(figures, indent=2, sort_keys=True))
        else:
            if not push_only:
                render(figures)
            render_push(figures["push"])


async def run_worker(settings: Settings, concurrency: int) -> None:
    """One worker process: its jobs until SIGTERM, and with `S5SYNC_WORKER_HEALTH_PORT`
    its /healthz and /metrics (`entrypoints.worker_health`)."""
    from s5sync.entrypoints.bootstrap import build_services, build_worker
    from s5sync.entrypoints.worker_health import QUEUE_LAG, WorkerHealth, serving_health
    from s5sync.scheduling.distributed import CYCLE_QUEUE

    services = build_services(settings)
    try:
        worker = build_worker(services)
        scheduler, cycles, counters = worker.scheduler, worker.cycles, worker.counters

        async def queue_lag() -> float:
            row = await scheduler.app.connector.execute_query_one_async(
                QUEUE_LAG, queue=CYCLE_QUEUE
            )
            return float(row["lag"])

        health = WorkerHealth(
            counters,
            alive=lambda: scheduler.running,
            database=services.directory.tenants,
            queue_lag=queue_lag,
            last_finished=lambda: cycles.last_finished,
        )
        async with serving_health(settings, health):
            await scheduler.run_worker(concurrency)
    finally:
        await services.aclose()
