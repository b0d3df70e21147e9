"""The operator's commands (R21c) and the one-line configuration errors, through the
real `s5sync` CLI on a SQLite CALENDAREVENT database."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from s5sync.entrypoints.cli import app
from s5sync.store.secrets import SecretBox

KEY = SecretBox.generate_key()


@pytest.fixture
def env_file(tmp_path: Path) -> Path:
    path = tmp_path / "s5sync.env"
    path.write_text(
        f"S5SYNC_DATABASE_URL=sqlite:///{tmp_path}/calendarevent.db\nS5SYNC_SECRET_KEYS={KEY}\n"
    )
    return path


def s5sync(env_file: Path, *args: str) -> str:
    result = CliRunner().invoke(app, ["--env-file", str(env_file), *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_operator_registers_a_store_and_names_its_administrator_R21c(env_file: Path) -> None:
    s5sync(env_file, "db", "upgrade")
    out = s5sync(
        env_file,
        "tenant",
        "create",
        "--ms-tenant-id",
        "contoso-id",
        "--name",
        "Contoso",
        "--s5-db",
        "sqlite:///secret-path.db",
        "--time-zone",
        "Europe/Paris",
    )
    assert "Contoso" in out
    assert "Europe/Paris" in out
    out = s5sync(env_file, "tenant", "set", "contoso-id", "--sync-tag", "[s5]", "--background-sync")
    assert "[s5]" in out
    assert "background" in out
    out = s5sync(
        env_file, "user", "admin", "grant", "ann@contoso.example", "--tenant", "contoso-id"
    )
    assert "ann@contoso.example" in out
    out = s5sync(env_file, "user", "map", "ann@contoso.example", "12")
    assert "12" in out
    assert "yes" in out
    listed = s5sync(env_file, "user", "list")
    assert "ann@contoso.example" in listed
    s5sync(env_file, "user", "unmap", "ann@contoso.example")
    assert "no" in s5sync(env_file, "user", "list", "--tenant", "contoso-id")
    s5sync(env_file, "user", "admin", "revoke", "ann@contoso.example")
    s5sync(env_file, "user", "remove", "ann@contoso.example")
    assert "ann@" not in s5sync(env_file, "user", "list")
    s5sync(env_file, "tenant", "remove", "contoso-id", "--yes")
    assert "Contoso" not in s5sync(env_file, "tenant", "list")


def test_the_watcher_period_and_the_safety_net_are_set_and_shown_R14b(env_file: Path) -> None:
    s5sync(env_file, "db", "upgrade")
    out = s5sync(
        env_file, "tenant", "create", "--ms-tenant-id", "t1", "--name", "S", "--s5-db", "x"
    )
    assert "15 s" in out  # the defaults (R14b)
    assert "60 min" in out
    out = s5sync(
        env_file, "tenant", "set", "t1", "--s5-poll-seconds", "5", "--safety-minutes", "90"
    )
    assert "5 s" in out
    assert "90 min" in out
    listed = s5sync(env_file, "tenant", "list")
    assert "5 s" in listed
    assert "90 min" in listed
    assert "15 s" not in listed


@pytest.mark.parametrize(
    ("flag", "value", "message"),
    [
        ("--s5-poll-seconds", "0", "--s5-poll-seconds: must be between 1 and 3600, not 0"),
        ("--s5-poll-seconds", "3601", "--s5-poll-seconds: must be between 1 and 3600, not 3601"),
        ("--safety-minutes", "0", "--safety-minutes: must be between 1 and 1440, not 0"),
        ("--safety-minutes", "1441", "--safety-minutes: must be between 1 and 1440, not 1441"),
    ],
)
def test_a_watcher_period_or_safety_net_out_of_bounds_is_one_line_R14b(
    env_file: Path, flag: str, value: str, message: str
) -> None:
    s5sync(env_file, "db", "upgrade")
    s5sync(env_file, "tenant", "create", "--ms-tenant-id", "t1", "--name", "S", "--s5-db", "x")
    result = CliRunner().invoke(
        app, ["--env-file", str(env_file), "tenant", "set", "t1", flag, value]
    )
    assert result.exit_code == 1
    assert result.output.strip() == f"s5sync: {message}"
    listed = s5sync(env_file, "tenant", "list")
    assert "15 s" in listed  # unchanged
    assert "60 min" in listed


def test_key_rotation_from_the_command_line_keeps_secrets_readable_R22(
    env_file: Path, tmp_path: Path
) -> None:
    s5sync(env_file, "db", "upgrade")
    s5sync(env_file, "tenant", "create", "--ms-tenant-id", "t1", "--name", "S", "--s5-db", "x://s")
    new_key = s5sync(env_file, "keys", "generate").strip()
    rotated = tmp_path / "rotated.env"
    rotated.write_text(env_file.read_text().replace(KEY, f"{new_key},{KEY}"))
    assert "re-encrypted 1 secrets" in s5sync(rotated, "keys", "rotate")
    only_new = tmp_path / "new.env"
    only_new.write_text(env_file.read_text().replace(KEY, new_key))
    assert "re-encrypted 1 secrets" in s5sync(only_new, "keys", "rotate")
    raw = sqlite3.connect(tmp_path / "calendarevent.db").execute("SELECT * FROM tenant").fetchall()
    assert "x://s" not in repr(raw)


def test_unknown_user_and_unknown_zone_get_one_line_errors(env_file: Path) -> None:
    s5sync(env_file, "db", "upgrade")
    runner = CliRunner()
    result = runner.invoke(app, ["--env-file", str(env_file), "user", "map", "nobody@x", "1"])
    assert result.exit_code == 1
    assert "no user nobody@x" in result.output
    result = runner.invoke(
        app,
        [
            "--env-file",
            str(env_file),
            "tenant",
            "create",
            "--ms-tenant-id",
            "t",
            "--name",
            "n",
            "--s5-db",
            "x",
            "--time-zone",
            "Mars/Olympus",
        ],
    )
    assert result.exit_code == 1
    assert "unknown time zone 'Mars/Olympus'" in result.output


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "s5sync: S5SYNC_DATABASE_URL is not set"),
        (
            {"S5SYNC_DATABASE_URL": "mysql://x"},
            "s5sync: S5SYNC_DATABASE_URL is invalid: must start",
        ),
        ({"S5SYNC_DATABASE_URL": "sqlite:///x.db"}, "s5sync: S5SYNC_SECRET_KEYS is not set"),
        (
            {"S5SYNC_DATABASE_URL": "sqlite:///x.db", "S5SYNC_SECRET_KEYS": "not-a-key"},
            "s5sync: S5SYNC_SECRET_KEYS is invalid: each key must be",
        ),
    ],
)
def test_bad_configuration_stops_with_one_line_naming_the_setting(
    env: dict[str, str], message: str, tmp_path: Path
) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "s5sync", "tenant", "list"],
        env={"PATH": "/usr/bin:/bin", **env},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(message)
    assert "Traceback" not in result.stderr


def test_missing_env_file_is_named(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["--env-file", str(tmp_path / "none.env"), "tenant", "list"])
    assert result.exit_code == 2
    assert "none.env: no such file" in result.output
