"""The operator's actions are in the store's audit trail (R21d, R21c; issue 21 item 7),
one test per action, and `s5sync user export` (issue 21 item 8) writes everything held
about a user as JSON with no secret (R22)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from s5sync.entrypoints.bootstrap import build_services
from s5sync.entrypoints.cli import app
from s5sync.settings import load_settings
from s5sync.store.audit import AuditRecord
from s5sync.store.secrets import SecretBox

KEY = SecretBox.generate_key()
S5_SECRET = "sqlite:///secret-Path-never-exported.db"
TENANT = "contoso-id"


@pytest.fixture
def env_file(tmp_path: Path) -> Path:
    path = tmp_path / "s5sync.env"
    path.write_text(
        f"S5SYNC_DATABASE_URL=sqlite:///{tmp_path}/calendarevent.db\nS5SYNC_SECRET_KEYS={KEY}\n"
    )
    s5sync(path, "db", "upgrade")
    s5sync(
        path, "tenant", "create", "--ms-tenant-id", TENANT, "--name", "Contoso",
        "--s5-db", S5_SECRET,
    )  # fmt: skip
    return path


def s5sync(env_file: Path, *args: str) -> str:
    result = CliRunner().invoke(app, ["--env-file", str(env_file), *args])
    assert result.exit_code == 0, result.output
    return result.output


def trail(env_file: Path) -> list[AuditRecord]:
    async def read() -> list[AuditRecord]:
        services = build_services(load_settings(env_file))
        try:
            tenant = await services.directory.tenant(TENANT)
            async with services.scope(tenant.id).begin(write=False) as unit:
                return await unit.audit.lines()
        finally:
            await services.aclose()

    return asyncio.run(read())


def actions(env_file: Path) -> list[tuple[str, str, str]]:
    """(actor, action, target), oldest first."""
    return [(a.actor, a.action.value, a.target) for a in reversed(trail(env_file))]


def test_registering_a_store_is_audited_R21d(env_file: Path) -> None:
    [line] = trail(env_file)
    assert (line.actor, line.actor_kind, line.action.value) == (
        "operator", "operator", "store_registered",
    )  # fmt: skip
    assert S5_SECRET not in json.dumps(line.details)


def test_changing_a_store_is_audited_without_the_connection_R21d_R22(env_file: Path) -> None:
    s5sync(env_file, "tenant", "set", TENANT, "--sync-tag", "[s5]", "--s5-db", "sqlite:///new.db")
    line = trail(env_file)[0]
    assert line.action.value == "store_changed"
    assert line.details == {
        "sync_tag": {"old": "[sync]", "new": "[s5]"},
        "s5_connection": "changed",
    }


def test_changing_the_watcher_period_and_safety_net_is_audited_R14b_R21d(env_file: Path) -> None:
    s5sync(env_file, "tenant", "set", TENANT, "--s5-poll-seconds", "1", "--safety-minutes", "30")
    line = trail(env_file)[0]
    assert line.action.value == "store_changed"
    assert line.details == {
        "s5_poll_seconds": {"old": 15, "new": 1},
        "safety_minutes": {"old": 60, "new": 30},
    }


def test_granting_and_revoking_the_administrator_role_are_audited_R21d(env_file: Path) -> None:
    s5sync(env_file, "user", "admin", "grant", "ann@contoso.example", "--tenant", TENANT)
    s5sync(env_file, "user", "admin", "revoke", "ann@contoso.example")
    assert actions(env_file)[1:] == [
        ("operator", "user_invited", "ann@contoso.example"),
        ("operator", "admin_granted", "ann@contoso.example"),
        ("operator", "admin_revoked", "ann@contoso.example"),
    ]


def test_mapping_unmapping_and_removing_are_audited_R21d(env_file: Path) -> None:
    s5sync(env_file, "user", "map", "bo@contoso.example", "12", "--tenant", TENANT)
    s5sync(env_file, "user", "unmap", "bo@contoso.example")
    s5sync(env_file, "user", "remove", "bo@contoso.example")
    assert [a for _, a, _ in actions(env_file)[2:]] == [
        "user_mapped", "user_unmapped", "user_removed",
    ]  # fmt: skip
    mapped = next(a for a in trail(env_file) if a.action.value == "user_mapped")
    assert mapped.details == {"employee": {"old": None, "new": 12}}


def test_user_export_holds_the_user_and_no_secret_R22(env_file: Path, tmp_path: Path) -> None:
    s5sync(env_file, "user", "map", "bo@contoso.example", "12", "--tenant", TENANT)
    out = tmp_path / "bo.json"
    s5sync(env_file, "user", "export", "bo@contoso.example", "--output", str(out))
    exported = json.loads(out.read_text())
    assert exported["user"]["email"] == "bo@contoso.example"
    assert exported["user"]["employee_id"] == 12
    assert {a["action"] for a in exported["audit"]} == {"user_invited", "user_mapped"}
    assert set(exported) >= {"mapping", "cycles", "activity", "calendar_window_cache"}
    text = out.read_text()
    for secret in (KEY, S5_SECRET, "token_cache_enc"):
        assert secret not in text
    assert actions(env_file)[-1] == ("operator", "user_exported", "bo@contoso.example")


def test_pausing_and_resuming_from_the_command_line_are_audited_R14c_R21d(
    env_file: Path,
) -> None:
    s5sync(env_file, "user", "map", "bo@contoso.example", "12", "--tenant", TENANT)
    assert "paused" in s5sync(env_file, "user", "pause", "bo@contoso.example")
    result = CliRunner().invoke(
        app, ["--env-file", str(env_file), "sync", "--user", "bo@contoso.example"]
    )
    assert result.exit_code != 0
    assert "paused" in result.output
    s5sync(env_file, "user", "resume", "bo@contoso.example")
    assert [a for _, a, _ in actions(env_file)[-2:]] == ["user_paused", "user_resumed"]


def test_user_map_csv_is_all_or_nothing_and_audited_R20_R21d(tmp_path: Path) -> None:
    from s5emu.desk import Desk
    from s5emu.schema import create_schema, engine_for

    s5 = f"sqlite:///{tmp_path}/systemfive.db"
    create_schema(s5)
    engine = engine_for(s5)
    Desk(engine).add_employees([("E001", "Ann", "ann@x.test"), ("E002", "Bo", "bo@x.test")])
    engine.dispose()
    env = tmp_path / "s5sync.env"
    env.write_text(
        f"S5SYNC_DATABASE_URL=sqlite:///{tmp_path}/calendarevent.db\nS5SYNC_SECRET_KEYS={KEY}\n"
    )
    s5sync(env, "db", "upgrade")
    s5sync(env, "tenant", "create", "--ms-tenant-id", TENANT, "--name", "Contoso", "--s5-db", s5)
    bad = tmp_path / "bad.csv"
    bad.write_text("email,employee code\nann@x.test,E001\nbo@x.test,E999\n")
    result = CliRunner().invoke(
        app, ["--env-file", str(env), "user", "map", "--csv", str(bad), "--tenant", TENANT]
    )
    assert result.exit_code == 1
    assert "line 3: no System Five employee has the code 'E999'" in result.output
    assert "nothing was mapped: 1 bad line(s)" in result.output
    assert "ann@x.test" not in s5sync(env, "user", "list")
    good = tmp_path / "good.csv"
    good.write_text("ann@x.test,E001\nbo@x.test,E002\n")
    out = s5sync(env, "user", "map", "--csv", str(good), "--tenant", TENANT)
    assert "ann@x.test" in out
    assert "bo@x.test" in out
    mapped = [a for a in actions(env) if a[1] == "user_mapped"]
    assert [t for _, _, t in mapped] == ["ann@x.test", "bo@x.test"]
