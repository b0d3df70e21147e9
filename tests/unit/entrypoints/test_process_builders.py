"""The composition root's builders (issue 18 item g; R16): one per process kind."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from s5sync.entrypoints.bootstrap import build_cli, build_demo
from s5sync.settings import Settings
from s5sync.store.secrets import SecretBox
from s5sync.sync.holders import holder_gone


def settings(tmp_path: Path) -> Settings:
    return Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'ce.db'}",
        secret_keys=SecretBox.generate_key(),
    )


def test_a_command_runs_its_cycles_under_a_holder_that_names_this_process_R16(
    tmp_path: Path,
) -> None:
    """`s5sync sync` and `s5sync user resync` hold leases as `cli:host:pid:start`, so a
    command killed mid-cycle leaves a lease the next cycle on this host takes over."""
    cli = build_cli(settings(tmp_path))
    try:
        kind, _host, pid, _start = cli.engine.holder.split(":")
        assert (kind, int(pid)) == ("cli", os.getpid())
        assert not holder_gone(cli.engine.holder)  # this process is alive
        assert cli.engine.stores is cli.services
    finally:
        asyncio.run(cli.aclose())


def test_the_demo_builds_the_services_of_its_settings(tmp_path: Path) -> None:
    configured = settings(tmp_path)
    services = build_demo(configured)
    try:
        assert services.settings is configured
    finally:
        asyncio.run(services.aclose())
