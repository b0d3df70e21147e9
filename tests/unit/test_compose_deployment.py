"""compose.yaml and deploy/s5sync.env.example (issue 22): the env file names every
setting `serve` and `worker` read (src/s5sync/settings.py), the ones they cannot start
without are set, and the compose file is valid by docker-compose's own schema
(`docker-compose config`, Debian's 1.29; .ci/image installs it)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from s5sync.settings import REQUIRED_FOR_SERVE, Settings

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "deploy" / "s5sync.env.example"
COMPOSE = ROOT / "compose.yaml"
LINE = re.compile(r"^(#\s*)?(S5SYNC_[A-Z0-9_]+)=", re.MULTILINE)


def named() -> dict[str, bool]:
    """Setting → whether the example sets it (True) or names it commented out (False)."""
    return {m[2]: not m[1] for m in LINE.finditer(EXAMPLE.read_text())}


def test_the_env_example_names_every_setting_of_serve_and_worker() -> None:
    settings = {f"S5SYNC_{name.upper()}" for name in Settings.model_fields}
    missing = sorted(settings - named().keys())
    assert not missing, f"add {missing} to deploy/s5sync.env.example (issue 22)"
    assert not sorted(named().keys() - settings), "the example names a setting that is gone"


def test_the_env_example_sets_what_serve_and_worker_cannot_start_without() -> None:
    needed = {"database_url", "tenant_database_url", "secret_keys", "scheduler"}
    needed |= set(REQUIRED_FOR_SERVE) | {"public_url"}
    unset = sorted(n for n in needed if not named().get(f"S5SYNC_{n.upper()}"))
    assert not unset, f"deploy/s5sync.env.example must set {unset}"
    text = EXAMPLE.read_text()
    assert "S5SYNC_SCHEDULER=procrastinate" in text
    # The URLs name the roles the init script makes (docs/operations.md §10).
    assert "postgresql://s5sync_owner:" in text
    assert "postgresql://s5sync_app:" in text
    script = (ROOT / "deploy" / "initdb" / "10-s5sync-roles.sh").read_text()
    assert "CREATE ROLE s5sync_owner LOGIN BYPASSRLS" in script
    assert "CREATE ROLE s5sync_app LOGIN NOBYPASSRLS" in script


def test_compose_file_is_valid_and_runs_db_upgrade_web_and_two_workers(tmp_path: Path) -> None:
    compose = shutil.which("docker-compose")
    if compose is None:
        if os.environ.get("CI"):
            pytest.fail("CI needs Debian's docker-compose (installed by .ci/image)")
        pytest.skip("needs docker-compose (apt-get install docker-compose)")
    (tmp_path / "deploy").mkdir()
    shutil.copy(COMPOSE, tmp_path / "compose.yaml")
    shutil.copytree(ROOT / "deploy" / "initdb", tmp_path / "deploy" / "initdb")
    shutil.copy(EXAMPLE, tmp_path / "deploy" / "s5sync.env")
    run = subprocess.run(
        [compose, "config"], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 0, run.stderr
    services = subprocess.run(
        [compose, "config", "--services"], cwd=tmp_path, capture_output=True, text=True
    ).stdout.split()
    assert sorted(services) == ["db", "migrate", "web", "worker-1", "worker-2"]
    resolved = run.stdout
    assert "postgres:15" in resolved
    assert "/docker-entrypoint-initdb.d" in resolved
    assert resolved.count("S5SYNC_SCHEDULER: procrastinate") >= 2
    assert "service_completed_successfully" in resolved  # the workers wait for db upgrade
    assert "- upgrade" in resolved  # the migrate service's command
