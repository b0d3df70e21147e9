"""The real stack for the bad-input catalogue (issue 14, R23): the emulator over TLS with
MSAL sign-in, System Five on SQLite, services built from settings (cycle_stack.Stack)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from m365emu.demo import register_app, seed_demo
from m365emu.testing import RunningEmulator
from support.badinput_world import ALICE, World
from support.cycle_stack import CLIENT_ID, CLIENT_SECRET, REDIRECT, emulator_running, stack


@pytest.fixture(scope="module")
def running() -> Iterator[RunningEmulator]:
    with emulator_running() as emulator:
        yield emulator


@pytest.fixture(scope="module")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated CALENDAREVENT database, copied for each test (migrating costs ~0.4 s)."""
    from s5sync.store.migrate import upgrade

    template = tmp_path_factory.mktemp("template") / "calendarevent.db"
    upgrade(f"sqlite:///{template}")
    return template


@pytest.fixture
async def world(tmp_path: Path, running: RunningEmulator, migrated: Path) -> AsyncIterator[World]:
    running.emulator.reset()
    seed_demo(running.emulator)
    register_app(
        running.emulator, client_id=CLIENT_ID, client_secret=CLIENT_SECRET, redirect_uris=[REDIRECT]
    )
    async with stack(tmp_path, running, migrated=migrated) as built:
        await built.sign_in(ALICE, "Alice Martin")
        yield World(built)
