"""`s5sync serve` (issue 11): a missing or invalid setting stops it at start with one
line naming the setting; SIGTERM during a cycle lets the cycle finish and loses nothing;
its logs are JSON lines without tokens or secrets (R22)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import anyio
import httpx
import pytest
from typer.testing import CliRunner

from m365emu.demo import DEMO_TENANT_ID, register_app
from m365emu.testing import RunningEmulator, sign_in_with_form_posts
from s5emu.desk import Desk, TaskForm
from s5emu.schema import create_schema, engine_for
from s5sync.entrypoints.bootstrap import build_services
from s5sync.entrypoints.cli import app as cli_app
from s5sync.settings import load_settings
from s5sync.store.migrate import upgrade
from s5sync.store.secrets import SecretBox
from support.web_world import CLIENT_ID, CLIENT_SECRET, REDIRECT, ZONE

SESSION_SECRET = "x" * 64
ALICE = "alice@contoso.example"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def base_env(tmp_path: Path, port: int) -> dict[str, str]:
    database = tmp_path / "calendarevent.db"
    if not database.exists():
        upgrade(f"sqlite:///{database}")
    env = {k: v for k, v in os.environ.items() if not k.startswith("S5SYNC_")}
    env.update(
        {
            "S5SYNC_DATABASE_URL": f"sqlite:///{database}",
            "S5SYNC_SECRET_KEYS": SecretBox.generate_key(),
            "S5SYNC_SESSION_SECRET": SESSION_SECRET,
            "S5SYNC_CLIENT_ID": CLIENT_ID,
            "S5SYNC_CLIENT_SECRET": CLIENT_SECRET,
            "S5SYNC_REDIRECT_URI": f"http://127.0.0.1:{port}/auth/callback",
            "S5SYNC_PUBLIC_URL": f"http://127.0.0.1:{port}",
            "S5SYNC_SECURE_COOKIES": "false",
            "S5SYNC_LOG_JSON": "true",
        }
    )
    return env


def serve(env: dict[str, str], cwd: Path, port: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "s5sync", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        cwd=cwd,  # no stray .env file is read
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


REQUIRED = [
    "S5SYNC_DATABASE_URL",
    "S5SYNC_SECRET_KEYS",
    "S5SYNC_SESSION_SECRET",
    "S5SYNC_CLIENT_ID",
    "S5SYNC_CLIENT_SECRET",
    "S5SYNC_REDIRECT_URI",
]
INVALID = {
    "S5SYNC_SECRET_KEYS": "not-a-key",
    "S5SYNC_DATABASE_URL": "mysql://db/ce",
    "S5SYNC_REDIRECT_URI": "http://s5sync.example.com/auth/callback",
    "S5SYNC_SESSION_SECRET": "short",
    "S5SYNC_AUTHORITY": "http://login.example.com/organizations",
    # SQLite has no roles: a store-bound role needs PostgreSQL (R22)
    "S5SYNC_TENANT_DATABASE_URL": "postgresql://s5sync_app@127.0.0.1:5432/ce",
}


def cases(tmp_path: Path, port: int) -> list[tuple[str, dict[str, str]]]:
    """(setting named in the message, environment) for each broken configuration."""
    found: list[tuple[str, dict[str, str]]] = []
    for name in REQUIRED:
        env = base_env(tmp_path, port)
        del env[name]
        found.append((name, env))
    for name, value in INVALID.items():
        env = base_env(tmp_path, port)
        env[name] = value
        found.append((name, env))
    unreachable = base_env(tmp_path, port)
    unreachable["S5SYNC_DATABASE_URL"] = f"sqlite:///{tmp_path / 'missing' / 'ce.db'}"
    found.append(("S5SYNC_DATABASE_URL", unreachable))
    (tmp_path / "empty.db").write_bytes(b"")
    not_upgraded = base_env(tmp_path, port)
    not_upgraded["S5SYNC_DATABASE_URL"] = f"sqlite:///{tmp_path / 'empty.db'}"
    found.append(("S5SYNC_DATABASE_URL", not_upgraded))
    return found


def test_each_missing_or_invalid_setting_stops_serve_with_one_line_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # In-process through the same typer app (`--env-file`), to keep the suite fast; the
    # next test runs the real command line once.
    for key in [k for k in os.environ if k.startswith("S5SYNC_")]:
        monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)  # no stray .env file is read
    answers = []
    for n, (name, env) in enumerate(cases(tmp_path, free_port())):
        env_file = tmp_path / f"case-{n}.env"
        env_file.write_text(
            "".join(f"{k}={v}\n" for k, v in env.items() if k.startswith("S5SYNC_"))
        )
        result = CliRunner().invoke(cli_app, ["--env-file", str(env_file), "serve"])
        answers.append((name, result.exit_code, result.stderr.strip().splitlines(), result.stdout))
    for name, code, lines, out in answers:
        assert code == 2, (name, lines)
        assert len(lines) == 1, (name, lines)
        assert lines[0].startswith(f"s5sync: {name}"), (name, lines)
        assert out == ""
    assert answers[3][2] == ["s5sync: S5SYNC_CLIENT_ID is not set (needed by s5sync serve)"]


@pytest.mark.postgres
@pytest.mark.parametrize(("command", "prefix"), [("serve", "s5sync"), ("worker", "s5sync worker")])
def test_serve_and_worker_refuse_a_store_bound_role_the_policies_would_not_bind_R22(
    command: str, prefix: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pg_databases: Any
) -> None:
    for key in [k for k in os.environ if k.startswith("S5SYNC_")]:
        monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    owner: str = pg_databases.create()
    upgrade(owner)
    env = base_env(tmp_path, free_port())
    env["S5SYNC_DATABASE_URL"] = owner
    env["S5SYNC_TENANT_DATABASE_URL"] = owner  # the superuser: the policies never bind it
    env["S5SYNC_SCHEDULER"] = "procrastinate" if command == "worker" else "local"
    env_file = tmp_path / "superuser.env"
    env_file.write_text("".join(f"{k}={v}\n" for k, v in env.items() if k.startswith("S5SYNC_")))
    result = CliRunner().invoke(cli_app, ["--env-file", str(env_file), command])
    assert result.exit_code == 2
    role = owner.partition("://")[2].partition("@")[0]
    assert result.stderr.strip().splitlines() == [
        f"{prefix}: S5SYNC_TENANT_DATABASE_URL is invalid: role {role} bypasses row-level "
        "security (superuser or BYPASSRLS) (docs/operations.md §10)"
    ]


def test_the_command_line_stops_with_one_line_when_a_setting_is_missing(tmp_path: Path) -> None:
    env = base_env(tmp_path, free_port())
    del env["S5SYNC_CLIENT_SECRET"]
    process = serve(env, tmp_path, free_port())
    out, err = process.communicate(timeout=60)
    assert process.returncode == 2
    assert err.splitlines() == ["s5sync: S5SYNC_CLIENT_SECRET is not set (needed by s5sync serve)"]
    assert out == ""


async def test_sigterm_during_a_cycle_lets_it_finish_and_loses_nothing(
    tmp_path: Path, running: RunningEmulator
) -> None:
    port = free_port()
    env = base_env(tmp_path, port)
    env.update(
        {
            "S5SYNC_AUTHORITY": running.urls.authority("organizations"),
            "S5SYNC_GRAPH_BASE_URL": running.urls.graph,
            "S5SYNC_CA_BUNDLE": str(running.urls.ca_cert),
        }
    )
    register_app(
        running.emulator,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        redirect_uris=[REDIRECT, env["S5SYNC_REDIRECT_URI"]],
    )
    env_file = tmp_path / "s5sync.env"
    env_file.write_text("".join(f"{k}={v}\n" for k, v in env.items() if k.startswith("S5SYNC_")))
    services = build_services(load_settings(env_file))
    s5_url = f"sqlite:///{tmp_path / 'systemfive.db'}"
    create_schema(s5_url)
    desk = Desk(engine_for(s5_url))
    tenant = await services.directory.create_tenant(
        DEMO_TENANT_ID, "Contoso", s5_url, datetime.now(UTC), time_zone=ZONE
    )
    employee = desk.add_employee("AM", "Alice Martin", ALICE)
    day = datetime.now(ZoneInfo(ZONE)).replace(tzinfo=None, minute=0, second=0, microsecond=0)
    for n in range(3):
        start = day + timedelta(days=1, hours=n)
        form = TaskForm(
            "delivery", employee, None, f"Delivery {n}", "", start, start + timedelta(hours=1),
            None, True,
        )  # fmt: skip
        desk.create_task(form)
    process = serve(env, tmp_path, port)
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base, timeout=30) as browser:
            for _ in range(200):
                try:
                    if (await browser.get("/healthz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert process.poll() is None, process.communicate()
                await asyncio.sleep(0.1)
            login = await browser.get("/auth/login")
            callback, fields = await anyio.to_thread.run_sync(
                lambda: sign_in_with_form_posts(
                    login.headers["location"], ALICE, running.ssl_context()
                )
            )
            assert (await browser.post(callback, data=fields)).status_code == 303
            [user] = await services.directory.find_users(ALICE)
            async with services.scope(tenant.id).begin() as unit:
                await unit.users.onboard(user.id, employee, datetime.now(UTC))
            page = (await browser.get("/dashboard")).text
            token = page.split('name="csrf-token" content="', 1)[1].split('"', 1)[0]
            running.emulator.latency_ms = 600  # a slow Graph: the cycle takes seconds
            answer = await browser.post("/dashboard/sync-now", headers={"X-CSRF-Token": token})
            assert answer.status_code == 200
        run = None
        for _ in range(300):
            async with services.scope(tenant.id).begin(write=False) as unit:
                runs = await unit.runs.runs(user.id)
            if runs:
                run = runs[0]
                break
            await asyncio.sleep(0.05)
        assert run is not None
        assert run.finished_at is None  # SIGTERM lands mid-cycle
        process.send_signal(signal.SIGTERM)
        _out, err = await anyio.to_thread.run_sync(lambda: process.communicate(timeout=60))
        assert process.returncode == 0, err[-2000:]
    finally:
        running.emulator.latency_ms = 0
        if process.poll() is None:
            process.kill()
            process.communicate()
    try:
        async with services.scope(tenant.id).begin(write=False) as unit:
            [finished] = await unit.runs.runs(user.id)
        assert finished.finished_at is not None
        assert finished.outcome == "ok", finished.error
        subjects = sorted(e["subject"] for e in events(running, ALICE))
        assert subjects == ["Delivery 0", "Delivery 1", "Delivery 2"]
        # The next process goes on from there: nothing is sent twice.
        fresh = await services.cycle_engine("after-restart").run_user_cycle(
            (await services.directory.find_users(ALICE))[0], datetime.now(UTC)
        )
        assert fresh.outcome == "ok", fresh.error
        assert fresh.wrote == 0
        assert sorted(e["subject"] for e in events(running, ALICE)) == subjects
    finally:
        await services.aclose()
        desk.engine.dispose()
    lines = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    names = [line["event"] for line in lines]
    assert "serve.starting" in names and "cycle.finished" in names  # noqa: PT018
    assert names[-1] == "serve.stopped"
    assert "eyJ" not in err  # no JWT (access, refresh or id token) in any log line
    assert CLIENT_SECRET not in err
    assert SESSION_SECRET not in err


def events(running: RunningEmulator, email: str) -> list[dict[str, Any]]:
    with httpx.Client(base_url=running.urls.control) as control:
        token = control.post("token", json={"email": email, "scopes": ["Calendars.Read"]}).json()
    with httpx.Client(
        base_url=running.urls.graph,
        verify=running.ssl_context(),
        headers={"Authorization": f"Bearer {token['access_token']}"},
    ) as graph:
        return list(graph.get("/me/events", params={"$top": "100"}).json()["value"])


@pytest.fixture(autouse=True)
def _no_latency(running: RunningEmulator) -> None:
    running.emulator.latency_ms = 0
