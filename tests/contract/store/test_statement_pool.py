"""The cycle's single statements on asyncpg alone (`store/statements.StatementPool`,
issue 25): a dead idle connection is replaced before use, as `s5sync.pooling` does for
SQLAlchemy's pools; one the server closed is skipped; a connection whose statement
failed is never handed out again; JSON comes back decoded.

Proven on PostgreSQL by killing the server side of a pooled connection.
"""

from __future__ import annotations

import asyncio

import asyncpg  # type: ignore[import-untyped]  # no stubs
import psycopg
import pytest

from s5sync.store.database import async_url
from s5sync.store.statements import StatementPool
from s5sync.store.tls import asyncpg_connect

pytestmark = pytest.mark.postgres

BACKEND = "SELECT pg_backend_pid()"


def kill(url: str, pid: int) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT pg_terminate_backend(%s)", (pid,))


def pool(url: str, idle_seconds: float) -> StatementPool:
    return StatementPool(*asyncpg_connect(async_url(url)), idle_seconds=idle_seconds)


async def test_a_dead_idle_connection_is_replaced_before_use(pg_database: str) -> None:
    """(Here asyncpg sees the server's close itself; the ping after 10 s idle is for a
    cut it cannot see, as a firewall's — not simulated.)"""
    statements = pool(pg_database, idle_seconds=0.01)
    try:
        first = await statements.fetchval(BACKEND)
        kill(pg_database, first)
        await asyncio.sleep(0.05)
        second = await statements.fetchval(BACKEND)  # no error: pinged, dead, replaced
        assert second != first
    finally:
        await statements.close()


async def test_a_connection_the_server_closed_is_not_handed_out_even_when_recent(
    pg_database: str,
) -> None:
    """Without a ping (used a moment ago): asyncpg saw the server close the socket, so
    the pool skips it instead of failing a statement on it."""
    statements = pool(pg_database, idle_seconds=3600)
    try:
        first = await statements.fetchval(BACKEND)
        assert await statements.fetchval(BACKEND) == first  # the same connection, reused
        kill(pg_database, first)
        await asyncio.sleep(0.05)
        assert await statements.fetchval(BACKEND) != first
    finally:
        await statements.close()


async def test_a_failed_statement_closes_its_connection(pg_database: str) -> None:
    statements = pool(pg_database, idle_seconds=3600)
    try:
        first = await statements.fetchval(BACKEND)
        with pytest.raises(asyncpg.PostgresError):
            await statements.fetchval("SELECT 1 / 0")
        assert await statements.fetchval(BACKEND) != first
    finally:
        await statements.close()


async def test_json_comes_back_decoded(pg_database: str) -> None:
    statements = pool(pg_database, idle_seconds=3600)
    try:
        got = await statements.fetchval("SELECT json_build_object('a', 1, 'b', $1::text)", "x")
        assert got == {"a": 1, "b": "x"}
    finally:
        await statements.close()
