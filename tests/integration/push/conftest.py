"""Push (R14b) on a real SQLite CALENDAREVENT database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from s5sync.entrypoints.bootstrap import Services, build_services
from s5sync.settings import Settings
from s5sync.store.migrate import upgrade
from s5sync.store.secrets import SecretBox


@pytest.fixture
async def services(tmp_path: Path) -> AsyncIterator[Services]:
    url = f"sqlite:///{tmp_path}/ce.db"
    upgrade(url)
    built = build_services(Settings(database_url=url, secret_keys=SecretBox.generate_key()))
    yield built
    await built.aclose()
