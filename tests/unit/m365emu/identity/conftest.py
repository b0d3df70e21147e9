"""An in-memory emulator and an httpx client bound to its TLS app through ASGI (no
sockets): fast tests of the identity routes' wire behaviour."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from m365emu.app import Emulator, create_tls_app
from m365emu.demo import register_app, seed_demo
from m365emu.testing import TEST_CLIENT_ID, TEST_CLIENT_SECRET, TEST_REDIRECT_URI

PUBLIC_CLIENT_ID = "11111111-aaaa-4bbb-8ccc-000000000002"
BASE = "https://login.emu.test"


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    emu = Emulator()
    seed_demo(emu)
    register_app(
        emu,
        client_id=TEST_CLIENT_ID,
        client_secret=TEST_CLIENT_SECRET,
        redirect_uris=[TEST_REDIRECT_URI],
    )
    register_app(
        emu,
        client_id=PUBLIC_CLIENT_ID,
        client_secret=None,
        redirect_uris=[TEST_REDIRECT_URI],
        display_name="public app",
    )
    yield emu
    emu.close()


@pytest.fixture
async def client(emulator: Emulator) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_tls_app(emulator))
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as http:
        yield http
