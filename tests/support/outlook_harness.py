"""The Outlook page served by uvicorn on a free port, for Playwright in Debian's chromium."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import uvicorn
from fastapi import FastAPI

from m365emu.clock import EmulatorClock
from m365emu.graph import GraphState
from m365emu.outlook_web import create_outlook_router

TENANT = "11111111-1111-1111-1111-111111111111"
ALICE = "aaaaaaaa-0000-0000-0000-000000000001"


@dataclass
class OutlookServer:
    url: str
    state: GraphState
    clock: EmulatorClock


@pytest.fixture
def outlook_server() -> Iterator[OutlookServer]:
    state, clock = GraphState(), EmulatorClock()
    users = [(TENANT, ALICE, "alice@contoso.test", "Alice Adams")]
    app = FastAPI()
    app.include_router(
        create_outlook_router(state, clock, lambda: users, zone="Europe/Berlin"),
        prefix="/outlook",
    )
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        yield OutlookServer(f"http://127.0.0.1:{port}/outlook", state, clock)
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def chromium_args() -> list[str]:
    """CHROMIUM_ARGS of tests/conftest.py (loaded by path: every conftest is "conftest")."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location(
        "root_conftest_for_args", Path(__file__).resolve().parents[1] / "conftest.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return list(module.CHROMIUM_ARGS)
