"""A live emulator on real sockets (TLS, its own CA) with the Graph API mounted and the
test client registered, MSAL sign-in driven with form posts, and a migrated store."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import psycopg
import pytest

from m365emu.app import Emulator
from m365emu.demo import DEMO_TENANT_ID, register_app
from m365emu.testing import (
    TEST_CLIENT_ID,
    TEST_CLIENT_SECRET,
    TEST_REDIRECT_URI,
    RunningEmulator,
    run_emulator,
    sign_in_with_form_posts,
)
from s5sync.outlook.identity import IdentityConfig, MsalIdentity, SignedIn
from s5sync.store.database import Database
from s5sync.store.migrate import upgrade
from s5sync.store.models import Base
from s5sync.store.secrets import SecretBox
from s5sync.testing.graph_emulator import install_graph_api


def _configure(emulator: Emulator) -> None:
    emulator.socket_parts = install_graph_api(emulator)  # type: ignore[attr-defined]
    register_app(
        emulator,
        client_id=TEST_CLIENT_ID,
        client_secret=TEST_CLIENT_SECRET,
        redirect_uris=[TEST_REDIRECT_URI],
    )


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEmulator]:
    with run_emulator(
        tls_dir=tmp_path_factory.mktemp("tls"), seed=True, configure=_configure
    ) as emu:
        yield emu


def identity_for(running: RunningEmulator, secret: str = TEST_CLIENT_SECRET) -> MsalIdentity:
    return MsalIdentity(
        IdentityConfig(
            TEST_CLIENT_ID,
            secret,
            running.urls.authority(DEMO_TENANT_ID),
            ca_bundle=running.urls.ca_cert,
        )
    )


@pytest.fixture
def identity(running: RunningEmulator) -> Iterator[MsalIdentity]:
    made = identity_for(running)
    yield made
    made.close()


async def sign_in(running: RunningEmulator, identity: MsalIdentity, email: str) -> SignedIn:
    flow = await identity.begin_sign_in(TEST_REDIRECT_URI, login_hint=email)
    _, posted = await asyncio.to_thread(
        sign_in_with_form_posts, flow["auth_uri"], email, running.ssl_context()
    )
    return await identity.complete_sign_in(flow, posted)


@pytest.fixture(scope="module")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("store") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> str:
    if request.param == "sqlite":
        path = tmp_path / "calendarevent.db"
        path.write_bytes(sqlite_template.read_bytes())
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("pg_database")
    upgrade(url)
    with psycopg.connect(url, autocommit=True) as conn:
        tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
        conn.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
    return url


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    yield database
    await database.dispose()


@pytest.fixture
def box() -> SecretBox:
    return SecretBox([SecretBox.generate_key()])
