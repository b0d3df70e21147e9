"""Fixtures of the web app tests: one emulator per module, a fresh world per test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from m365emu.testing import RunningEmulator
from support.web_world import WebWorld, emulator_for_web, web_world


@pytest.fixture(scope="module")
def running() -> Iterator[RunningEmulator]:
    with emulator_for_web() as emulator:
        yield emulator


@pytest.fixture
async def world(tmp_path: Path, running: RunningEmulator) -> AsyncIterator[WebWorld]:
    running.emulator.faults.clear()
    async with web_world(tmp_path, running) as built:
        yield built


@pytest.fixture
async def people(world: WebWorld) -> WebWorld:
    """Alice administers Contoso, Bob is Contoso staff, Erin administers Fabrikam."""
    for email, admin in (
        ("alice@contoso.example", True),
        ("bob@contoso.example", False),
        ("erin@fabrikam.example", True),
    ):
        await world.sign_in(email)
        await world.onboard(email, admin=admin)
    return world
