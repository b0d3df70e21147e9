"""Fixtures of the cycle through the real connectors and both emulators: one emulator per
module (reset between tests), and per test a fresh CALENDAREVENT and System Five database
with Alice signed in through MSAL and onboarded (cycle_stack.py)."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Generator, Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from m365emu.demo import register_app, seed_demo
from m365emu.testing import RunningEmulator
from support.cycle_stack import CLIENT_ID, CLIENT_SECRET, REDIRECT, Stack, emulator_running, stack
from support.emulated_world import ALICE


@pytest.fixture(scope="module")
def running() -> Iterator[RunningEmulator]:
    with emulator_running() as emulator:
        yield emulator


@pytest.fixture
async def world(tmp_path: Path, running: RunningEmulator) -> AsyncIterator[Stack]:
    running.emulator.reset()
    seed_demo(running.emulator)
    register_app(
        running.emulator,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        redirect_uris=[REDIRECT],
    )
    async with stack(tmp_path, running) as built:
        await built.sign_in(ALICE, "Alice Martin")
        yield built


def _fresh_database() -> Generator[str, None, None]:
    """An empty PostgreSQL database of its own (the per-run one is shared by suites that
    register the same demo tenant), dropped afterwards."""
    admin = os.environ.get("S5SYNC_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
    try:
        conn = psycopg.connect(admin, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as error:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"PostgreSQL not reachable at {admin}: {error}".splitlines()[0])
    name = f"s5sync_cycle_{uuid.uuid4().hex[:12]}"
    with conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield f"{admin.rpartition('/')[0]}/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@pytest.fixture
async def pg_world(tmp_path: Path, running: RunningEmulator) -> AsyncIterator[Stack]:
    """The same stack with the CALENDAREVENT database on PostgreSQL."""
    databases = _fresh_database()
    url = next(databases)
    running.emulator.reset()
    seed_demo(running.emulator)
    register_app(
        running.emulator,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        redirect_uris=[REDIRECT],
    )
    try:
        async with stack(
            tmp_path, running, url.replace("postgresql://", "postgresql+asyncpg://", 1)
        ) as built:
            await built.sign_in(ALICE, "Alice Martin")
            yield built
    finally:
        databases.close()
