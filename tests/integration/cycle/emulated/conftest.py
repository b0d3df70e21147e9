"""Fixtures of the cycle through the real connectors and both emulators: one emulator per
module (reset between tests), and per test a fresh CALENDAREVENT and System Five database
with Alice signed in through MSAL and onboarded (cycle_stack.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from cycle_stack import CLIENT_ID, CLIENT_SECRET, REDIRECT, Stack, emulator_running, stack
from emulated_world import ALICE

from m365emu.demo import register_app, seed_demo
from m365emu.testing import RunningEmulator


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
