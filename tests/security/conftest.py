"""The demo as a subprocess for the HTTP security tests (issue 14, R19, R22)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from support.demo_runner import Demo, free_base_port
from support.security_browser import OPEN


@pytest.fixture(autouse=True)
def _close_browsers() -> Iterator[None]:
    yield
    while OPEN:
        OPEN.pop().close()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    running = Demo(tmp_path_factory.mktemp("demo") / "data", free_base_port())
    running.start()
    yield running
    running.stop()
