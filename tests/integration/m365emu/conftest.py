"""Fixtures for the emulator's integration tests: a live emulator on real sockets
(TLS port with the emulator's CA, demo tenants, a registered confidential client) and
MSAL pointed at it, unchanged.

MSAL's `verify=` is ignored by requests when REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE are set
(psf/requests#3829; reference/graph.md §9), as they are on this machine, so the fixture
removes them for the test: MSAL then trusts exactly the emulator's CA.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import msal
import pytest

from m365emu.app import Emulator
from m365emu.demo import DEMO_TENANT_ID, register_app
from m365emu.testing import (
    TEST_CLIENT_ID,
    TEST_CLIENT_SECRET,
    TEST_REDIRECT_URI,
    RunningEmulator,
    run_emulator,
)

MsalFactory = Callable[..., Any]


@pytest.fixture(scope="session")
def tls_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("m365emu-tls")


def register_test_client(emulator: Emulator) -> None:
    register_app(
        emulator,
        client_id=TEST_CLIENT_ID,
        client_secret=TEST_CLIENT_SECRET,
        redirect_uris=[TEST_REDIRECT_URI],
    )


@pytest.fixture
def running(tls_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[RunningEmulator]:
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    with run_emulator(tls_dir=tls_dir, seed=True, configure=register_test_client) as emu:
        yield emu


@pytest.fixture
def make_msal(running: RunningEmulator) -> MsalFactory:
    def make(tenant: str = DEMO_TENANT_ID, secret: str = TEST_CLIENT_SECRET) -> Any:
        return msal.ConfidentialClientApplication(
            TEST_CLIENT_ID,
            client_credential=secret,
            authority=running.urls.authority(tenant),
            instance_discovery=False,
            verify=str(running.urls.ca_cert),
            token_cache=msal.SerializableTokenCache(),
        )

    return make
