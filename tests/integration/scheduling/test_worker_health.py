"""`s5sync worker`'s /healthz and /metrics (issue 22): the real worker (`run_worker`, as
the command runs it) on a PostgreSQL database reached through a TCP proxy the test can
cut — the database "goes away" for the worker while the shared server keeps running."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest

from s5sync.entrypoints.worker import run_worker
from s5sync.scheduling.distributed import apply_schema
from s5sync.settings import Settings
from s5sync.store.migrate import upgrade
from s5sync.store.secrets import SecretBox

pytestmark = pytest.mark.postgres


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class CuttableProxy:
    """127.0.0.1:`port` → the PostgreSQL server; `cut()` closes the listener and every
    open connection (the database is gone), `restore()` listens again on the same port."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = free_port()
        self.server: asyncio.Server | None = None
        self.writers: set[asyncio.StreamWriter] = set()
        self.clients: set[asyncio.Task[None]] = set()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, OSError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.close()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self.clients.add(task)
        try:
            await self._forward(reader, writer)
        finally:
            self.clients.discard(task)

    async def _forward(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        self.writers |= {writer, up_writer}
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))
        self.writers -= {writer, up_writer}

    async def restore(self) -> None:
        self.server = await asyncio.start_server(self._client, "127.0.0.1", self.port)

    async def cut(self) -> None:
        assert self.server is not None
        self.server.close()
        for writer in list(self.writers):
            writer.transport.abort()
        self.writers.clear()
        for task in list(self.clients):
            task.cancel()
        await asyncio.gather(*self.clients, return_exceptions=True)
        await self.server.wait_closed()
        self.server = None


@contextlib.asynccontextmanager
async def proxy_to(url: str) -> AsyncIterator[CuttableProxy]:
    host_port = url.split("@", 1)[1].split("/", 1)[0]
    host, _, port = host_port.partition(":")
    proxy = CuttableProxy((host, int(port or 5432)))
    await proxy.restore()
    try:
        yield proxy
    finally:
        if proxy.server is not None:
            await proxy.cut()


async def eventually(
    check: Callable[[], Awaitable[bool]], seconds: float = 30.0, what: str = ""
) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"not within {seconds} s: {what}")
        await asyncio.sleep(0.25)


@contextlib.asynccontextmanager
async def running_worker(settings: Settings) -> AsyncIterator[None]:
    task = asyncio.create_task(run_worker(settings, 2))
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def worker_settings(url: str, health_port: int, **extra: Any) -> Settings:
    return Settings(
        database_url=url,
        secret_keys=SecretBox.generate_key(),
        scheduler="procrastinate",
        worker_health_port=health_port,
        worker_health_host="127.0.0.1",
        **extra,
    )


async def test_worker_healthz_fails_while_its_database_is_gone_and_recovers(
    pg_databases: Any,
) -> None:
    database = pg_databases.create()
    upgrade(database)
    async with proxy_to(database) as proxy:
        via_proxy = database.replace("127.0.0.1:5432", f"127.0.0.1:{proxy.port}")
        via_proxy = via_proxy.replace("localhost:5432", f"127.0.0.1:{proxy.port}")
        settings = worker_settings(via_proxy, free_port())
        await apply_schema(settings)
        base = f"http://127.0.0.1:{settings.worker_health_port}"
        async with running_worker(settings), httpx.AsyncClient(base_url=base) as http:

            async def status() -> int | None:
                try:
                    return (await http.get("/healthz", timeout=10)).status_code
                except httpx.TransportError:
                    return None  # not listening yet

            await eventually(lambda: _is(status, 200), what="healthy at start")
            report = (await http.get("/healthz")).json()
            assert report["alive"] is True
            assert report["database"] is True
            assert report["queue_lag_seconds"] == 0
            metrics = (await http.get("/metrics")).text
            assert "s5sync_database_up 1.0" in metrics
            assert "s5sync_worker_alive 1.0" in metrics

            await proxy.cut()  # the database goes away
            await eventually(lambda: _is(status, 503), what="unhealthy without its database")
            report = (await http.get("/healthz", timeout=10)).json()
            assert (report["ok"], report["database"]) == (False, False)
            assert "s5sync_database_up 0.0" in (await http.get("/metrics", timeout=10)).text

            async def job_loop_stopped() -> bool:
                return (await http.get("/healthz", timeout=10)).json()["alive"] is False

            # procrastinate's worker stops once its listener fails; the process stays.
            await eventually(job_loop_stopped, what="the job loop noticed")

            await proxy.restore()  # and comes back
            await eventually(lambda: _is(status, 200), what="healthy again")
            report = (await http.get("/healthz")).json()
            assert (report["alive"], report["database"]) == (True, True)


async def test_worker_metrics_refused_without_the_token(pg_databases: Any) -> None:
    database = pg_databases.create()
    upgrade(database)
    settings = worker_settings(database, free_port(), metrics_token="s3cret-token")
    await apply_schema(settings)
    base = f"http://127.0.0.1:{settings.worker_health_port}"
    async with running_worker(settings), httpx.AsyncClient(base_url=base) as http:

        async def listening() -> bool:
            try:
                await http.get("/healthz")
            except httpx.TransportError:
                return False
            return True

        await eventually(listening, what="listening")
        for route in ("/metrics", "/healthz"):
            refused = await http.get(route)
            assert refused.status_code == 401
            assert refused.headers["www-authenticate"] == "Bearer"
            assert "s5sync" not in refused.text
            wrong = await http.get(route, headers={"Authorization": "Bearer nope"})
            assert wrong.status_code == 401
        answered = await http.get("/metrics", headers={"Authorization": "Bearer s3cret-token"})
        assert answered.status_code == 200
        assert "s5sync_cycles_total" in answered.text or "s5sync_worker_alive" in answered.text


async def _is(status: Callable[[], Awaitable[int | None]], expected: int) -> bool:
    return await status() == expected
