"""`s5sync worker`'s own `/healthz` and `/metrics` (issue 22; DESIGN.md "Scheduling").

A worker has no web app, yet Azure Container Apps and Kubernetes probe it like one: with
`S5SYNC_WORKER_HEALTH_PORT` set, the worker serves, beside its jobs, in the same event
loop:

- `GET /healthz` → `200 {"ok": true, "alive": true, "database": true, "queue_lag_seconds":
  0.4, "last_cycle_finished": "2026-…Z"}`, or `503` with what failed. `ok` is *alive*
  (the job loop runs) and *database* (the CALENDAREVENT database answers within 5 s):
  what a restart can mend. The queue lag (how long the oldest due cycle has waited) and
  the last cycle this process finished are reported, not judged — a long queue needs
  more workers, not a restarted one (docs/deploy-azure.md: scale on it);
- `GET /metrics` → the cycle counters of this process (`entrypoints.web.metrics.Metrics`, the same
  names as the web app's) and `s5sync_worker_alive`, `s5sync_database_up`,
  `s5sync_queue_lag_seconds`, `s5sync_last_cycle_finished_timestamp_seconds`.

Both obey `S5SYNC_METRICS_ALLOW` / `S5SYNC_METRICS_TOKEN` as the web app's do
(`entrypoints.web.probes`). uvicorn serves them without its signal handlers: SIGTERM belongs to
procrastinate's graceful stop, after which the health server is closed.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import datetime
from typing import Any

from prometheus_client import Gauge
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from s5sync.entrypoints.web.metrics import CONTENT_TYPE, Metrics
from s5sync.entrypoints.web.probes import ProbeAccess
from s5sync.settings import Settings, SettingsError

CHECK_SECONDS = 5.0  # a database that does not answer in this time is down for the probe

# The oldest cycle job that is due and still waits (procrastinate's own table).
QUEUE_LAG = (
    "SELECT COALESCE(EXTRACT(EPOCH FROM now() - min(scheduled_at)), 0)::float AS lag "
    "FROM procrastinate_jobs WHERE status = 'todo' AND queue_name = %(queue)s "
    "AND scheduled_at <= now()"
)


class WorkerHealth:
    """What one worker process knows of its own health."""

    def __init__(
        self,
        counters: Metrics,
        *,
        alive: Callable[[], bool],
        database: Callable[[], Awaitable[object]],
        queue_lag: Callable[[], Awaitable[float]],
        last_finished: Callable[[], datetime | None],
    ) -> None:
        self.counters = counters
        self._alive = alive
        self._database = database
        self._queue_lag = queue_lag
        self._last_finished = last_finished
        r = counters.registry
        self.alive_gauge = Gauge("s5sync_worker_alive", "1 while the job loop runs", registry=r)
        self.database_gauge = Gauge(
            "s5sync_database_up", "1 while the CALENDAREVENT database answers", registry=r
        )
        self.lag_gauge = Gauge(
            "s5sync_queue_lag_seconds", "How long the oldest due cycle job has waited", registry=r
        )
        self.finished_gauge = Gauge(
            "s5sync_last_cycle_finished_timestamp_seconds",
            "When this process last finished a cycle (Unix time)",
            registry=r,
        )

    async def _answers(self, check: Callable[[], Awaitable[Any]]) -> tuple[bool, Any]:
        try:
            return True, await asyncio.wait_for(check(), CHECK_SECONDS)
        except Exception:  # the answer is the report, never a crash
            return False, None

    async def report(self) -> dict[str, Any]:
        database, _ = await self._answers(self._database)
        lag: float | None = None
        if database:
            known, value = await self._answers(self._queue_lag)
            lag = float(value) if known else None
        finished = self._last_finished()
        alive = self._alive()
        self.alive_gauge.set(1 if alive else 0)
        self.database_gauge.set(1 if database else 0)
        if lag is not None:
            self.lag_gauge.set(lag)
        if finished is not None:
            self.finished_gauge.set(finished.timestamp())
        return {
            "ok": alive and database,
            "alive": alive,
            "database": database,
            "queue_lag_seconds": round(lag, 3) if lag is not None else None,
            "last_cycle_finished": finished.isoformat() if finished is not None else None,
        }


def health_app(health: WorkerHealth, probes: ProbeAccess) -> Starlette:
    """The worker's two routes."""

    async def healthz(request: Request) -> Response:
        refused = probes.refusal(request)
        if refused is not None:
            return refused
        report = await health.report()
        return JSONResponse(report, status_code=200 if report["ok"] else 503)

    async def metrics(request: Request) -> Response:
        refused = probes.refusal(request)
        if refused is not None:
            return refused
        await health.report()  # the gauges as of now
        return Response(health.counters.render(), media_type=CONTENT_TYPE)

    return Starlette(routes=[Route("/healthz", healthz), Route("/metrics", metrics)])


@contextlib.asynccontextmanager
async def serving_health(settings: Settings, health: WorkerHealth) -> AsyncIterator[None]:
    """Serve `health` on `S5SYNC_WORKER_HEALTH_PORT` for the duration (nothing when 0)."""
    if not settings.worker_health_port:
        yield
        return
    import uvicorn

    class QuietServer(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield  # SIGTERM is procrastinate's

    config = uvicorn.Config(
        health_app(health, ProbeAccess.from_settings(settings)),
        host=settings.worker_health_host,
        port=settings.worker_health_port,
        lifespan="off",
        log_config=None,
        access_log=False,
        server_header=False,
    )
    server = QuietServer(config)
    task = asyncio.create_task(server.serve())
    while not server.started and not task.done():  # noqa: ASYNC110 - uvicorn has no event
        await asyncio.sleep(0.05)
    if task.done():  # uvicorn could not listen (it exits the task)
        with contextlib.suppress(BaseException):
            task.result()
        raise SettingsError(
            f"S5SYNC_WORKER_HEALTH_PORT is invalid: cannot listen on "
            f"{settings.worker_health_host}:{settings.worker_health_port}"
        )
    try:
        yield
    finally:
        server.should_exit = True
        await task
