"""`m365emu serve --data-dir` killed with SIGKILL restarts with its tenants, users, apps,
signing keys and refresh tokens (issue 4, "Persistence")."""

from __future__ import annotations

import os
import signal
import socket
import ssl
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import jwt

from m365emu.testing import sign_in_with_form_posts

TENANT = "11111111-2222-3333-4444-555555555555"
CLIENT = {"client_id": "restart-app", "client_secret": "restart-secret"}
REDIRECT = "http://127.0.0.1:9/cb"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def _serve(data_dir: Path, port: int, tls_port: int) -> Iterator[dict[str, str]]:
    command = [sys.executable, "-m", "m365emu", "serve", "--port", str(port)]
    command += ["--tls-port", str(tls_port), "--data-dir", str(data_dir), "--no-demo"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline().strip() for _ in range(5)]
        banner = dict(line.split(": ", 1) for line in lines)
        yield {**banner, "pid": str(process.pid)}
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()


def test_kill_9_keeps_tenants_users_apps_keys_and_refresh_tokens(tmp_path: Path) -> None:
    port, tls_port = _free_port(), _free_port()
    with _serve(tmp_path, port, tls_port) as banner:
        assert banner["authority"].startswith(f"https://127.0.0.1:{tls_port}/")
        assert banner["graph"] == f"https://127.0.0.1:{tls_port}/v1.0"
        assert banner["control"] == f"http://127.0.0.1:{port}/_emulator"
        assert banner["outlook"].startswith(f"http://127.0.0.1:{port}/")
        context = ssl.create_default_context(cafile=banner["ca"])
        control = banner["control"]
        httpx.post(f"{control}/tenants", json={"id": TENANT, "name": "restartco"})
        httpx.post(
            f"{control}/users",
            json={"tenant_id": TENANT, "email": "rita@restart.example", "display_name": "Rita"},
        )
        httpx.post(
            f"{control}/apps", json={"tenant_id": TENANT, **CLIENT, "redirect_uris": [REDIRECT]}
        )
        authority = f"https://127.0.0.1:{tls_port}/{TENANT}/oauth2/v2.0"
        params = httpx.QueryParams(
            client_id=CLIENT["client_id"],
            response_type="code",
            redirect_uri=REDIRECT,
            scope="openid offline_access Calendars.ReadWrite",
        )
        target, answer = sign_in_with_form_posts(
            f"{authority}/authorize?{params}", "rita@restart.example", context
        )
        assert target == REDIRECT
        tokens = httpx.post(
            f"{authority}/token",
            data={**CLIENT, "grant_type": "authorization_code", "code": answer["code"]}
            | {"redirect_uri": REDIRECT},
            verify=context,
        ).json()
        os.kill(int(banner["pid"]), signal.SIGKILL)

    with _serve(tmp_path, port, tls_port) as banner:
        context = ssl.create_default_context(cafile=banner["ca"])
        users = httpx.get(f"{banner['control']}/users").json()["value"]
        assert [u["email"] for u in users] == ["rita@restart.example"]
        refreshed = httpx.post(
            f"{authority}/token",
            data={**CLIENT, "grant_type": "refresh_token"}
            | {"refresh_token": tokens["refresh_token"], "scope": "Calendars.ReadWrite"},
            verify=context,
        )
        assert refreshed.status_code == 200, refreshed.text
        assert refreshed.json()["refresh_token"] != tokens["refresh_token"]
        keys = jwt.PyJWKClient(
            f"https://127.0.0.1:{tls_port}/{TENANT}/discovery/v2.0/keys", ssl_context=context
        )
        old = tokens["access_token"]
        claims = jwt.decode(
            old,
            keys.get_signing_key_from_jwt(old).key,
            algorithms=["RS256"],
            audience="00000003-0000-0000-c000-000000000000",
        )
        assert claims["upn"] == "rita@restart.example"
