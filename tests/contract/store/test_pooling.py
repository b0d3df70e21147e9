"""Idle pooled connections are pinged before use, recent ones are not (s5sync.pooling).

Proven on PostgreSQL by killing the server side of a pooled connection: after it sat
idle, the next checkout pings, finds it dead and hands out a fresh one; without the ping
(a connection used a moment ago) the dead one is handed out and the statement fails —
which is what the ping is for.
"""

from __future__ import annotations

import asyncio

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from s5sync.pooling import ping_when_idle
from s5sync.store.database import async_url

pytestmark = pytest.mark.postgres


async def backend_of(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one())


def kill(url: str, pid: int) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT pg_terminate_backend(%s)", (pid,))


async def test_a_dead_idle_connection_is_replaced_before_use(pg_database: str) -> None:
    engine = ping_when_idle(create_async_engine(async_url(pg_database)), idle_seconds=0.01)
    try:
        first = await backend_of(engine)
        kill(pg_database, first)
        await asyncio.sleep(0.05)
        second = await backend_of(engine)  # no error: pinged, found dead, replaced
        assert second != first
    finally:
        await engine.dispose()


async def test_a_recently_used_connection_is_not_pinged(pg_database: str) -> None:
    engine = ping_when_idle(create_async_engine(async_url(pg_database)), idle_seconds=3600)
    try:
        first = await backend_of(engine)
        kill(pg_database, first)
        await asyncio.sleep(0.05)
        with pytest.raises(DBAPIError):
            await backend_of(engine)
        assert await backend_of(engine) != first  # the pool was dropped: fresh from now on
    finally:
        await engine.dispose()
