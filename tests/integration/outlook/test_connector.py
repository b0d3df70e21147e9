"""The Outlook connector's parts as the composition root (bootstrap.py) builds them from
settings, and MSAL kept off the event loop: with the emulator served by the same loop (the
one-process demo), a blocking MSAL call would deadlock."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from m365emu.app import build_emulator, create_tls_app
from m365emu.demo import DEMO_TENANT_ID, seed_demo
from m365emu.server import bind, make_server
from m365emu.testing import TEST_CLIENT_ID, TEST_CLIENT_SECRET, RunningEmulator
from m365emu.tls import ensure_tls_files
from s5sync.entrypoints.bootstrap import build_services
from s5sync.outlook.graph import GraphCalendar
from s5sync.outlook.metering import RequestCounter
from s5sync.outlook.session import GraphSession
from s5sync.outlook.tokens import StoredTokenCache, UserTokens
from s5sync.settings import load_settings
from s5sync.store.secrets import SecretBox
from s5sync.testing.graph_emulator import install_graph_api
from support.signin_harness import identity_for, running, sign_in, sqlite_template

__all__ = ["running", "sqlite_template"]

NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def db_path(sqlite_template: Path, tmp_path: Path) -> Path:
    path = tmp_path / "c.db"
    path.write_bytes(sqlite_template.read_bytes())
    return path


async def test_the_composition_root_signs_in_and_reads_through_the_emulator_ca_R22(
    running: RunningEmulator, db_path: Path
) -> None:
    key = SecretBox.generate_key()
    settings = load_settings(
        database_url=f"sqlite+aiosqlite:///{db_path}",
        secret_keys=key,
        authority=running.urls.authority(DEMO_TENANT_ID),
        client_id=TEST_CLIENT_ID,
        client_secret=TEST_CLIENT_SECRET,
        graph_base_url=running.urls.graph,
        ca_bundle=running.urls.ca_cert,
    )
    services = build_services(settings)
    try:
        identity = services.identity()
        assert services.identity() is identity  # one MSAL application per process
        signed = await sign_in(running, identity, "alice@contoso.example")
        tenant = await services.directory.create_tenant(signed.tenant_id, "S", "x", NOW)
        scope = services.scope(tenant.id)
        async with scope.begin() as unit:
            user = await unit.users.signed_in(signed.object_id, "alice@contoso.example", "A", NOW)
            await unit.users.save_token_cache(user.id, signed.token_cache)
        link: str | None = None
        for rebaselined in (True, False):  # a baseline, then an idle cycle of 1 request
            tokens = UserTokens(
                identity, StoredTokenCache(scope, user.id), object_id=user.object_id
            )
            counter = RequestCounter()
            calendar = GraphCalendar(GraphSession(services.graph_http(), tokens, counter=counter))
            read = await calendar.read_window(link, NOW, NOW + timedelta(days=14))
            assert read.rebaselined is rebaselined
            assert counter.total == 1
            link = read.delta_link
    finally:
        await services.aclose()


async def test_msal_runs_off_the_event_loop_that_serves_the_emulator(tmp_path: Path) -> None:
    from m365emu.demo import DEMO_TENANT_ID, register_app
    from m365emu.testing import TEST_CLIENT_ID, TEST_CLIENT_SECRET, TEST_REDIRECT_URI

    files = ensure_tls_files(tmp_path / "tls")
    emulator = build_emulator(None)
    install_graph_api(emulator)
    seed_demo(emulator)
    register_app(
        emulator,
        client_id=TEST_CLIENT_ID,
        client_secret=TEST_CLIENT_SECRET,
        redirect_uris=[TEST_REDIRECT_URI],
    )
    sock = bind("127.0.0.1", 0)
    server = make_server(
        create_tls_app(emulator), certfile=files.server_cert, keyfile=files.server_key
    )
    serving = asyncio.create_task(server.serve(sockets=[sock]))  # this very loop serves it
    try:
        while not server.started:  # noqa: ASYNC110 - uvicorn offers no started event
            await asyncio.sleep(0.01)
        port = sock.getsockname()[1]
        from m365emu.server import EmulatorUrls

        urls = EmulatorUrls(f"https://127.0.0.1:{port}", "http://unused", files.ca_cert)
        here = RunningEmulator(emulator, urls)
        identity = identity_for(here)
        try:
            async with asyncio.timeout(20):  # a blocking MSAL call would hang here
                signed = await sign_in(here, identity, "bob@contoso.example")
                fresh = await identity.acquire(signed.token_cache, force_refresh=True)
            assert fresh.access_token
            assert signed.tenant_id == DEMO_TENANT_ID
        finally:
            identity.close()
    finally:
        server.should_exit = True
        await serving
        sock.close()
        emulator.close()


def test_building_services_does_no_network_io() -> None:
    # MSAL's application (which fetches the authority's configuration) is made lazily.
    settings = load_settings(
        database_url="sqlite+aiosqlite:///unused.db",
        secret_keys=SecretBox.generate_key(),
        authority="https://login.invalid/tenant",
    )
    services = build_services(settings)
    assert services.identity().built == 0
    asyncio.run(services.aclose())
