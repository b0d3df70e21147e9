"""`s5sync sync` through the real CLI against the real stack (issue 9 item 4): settings
from an env file written the way the demo writes it, the Microsoft 365 emulator over
TLS, System Five on SQLite."""

from __future__ import annotations

import json
from pathlib import Path

import anyio
from typer.testing import CliRunner, Result

from s5sync.entrypoints.cli import app
from support.cycle_stack import Stack
from support.emulated_world import ALICE, BOB, LATER, NOW, env_file, revoke


async def s5sync(env: Path, *args: str) -> Result:
    """The CLI in a worker thread (it runs its own event loop, as from a terminal)."""
    return await anyio.to_thread.run_sync(
        lambda: CliRunner().invoke(app, ["--env-file", str(env), *args])
    )


async def test_sync_prints_the_activity_as_a_table_and_exits_0_R18(
    world: Stack, tmp_path: Path
) -> None:
    env = env_file(world, tmp_path / "s5sync.env")
    world.add_task(
        ALICE, "delivery", "Deliver sofa [sync]", "2026-11-26T10:00:00", "2026-11-26T11:00:00"
    )
    result = await s5sync(env, "sync", "--user", ALICE, "--now", NOW.isoformat())
    assert result.exit_code == 0, result.output
    # The subject's "[sync]" is text, never rich markup.
    assert "Deliver sofa [sync]" in result.output
    assert "create_event" in result.output
    assert "outcome ok" in result.output
    assert len(world.events(ALICE)) == 1


async def test_sync_json_says_outcome_entries_requests_and_next_run_R17(
    world: Stack, tmp_path: Path
) -> None:
    env = env_file(world, tmp_path / "s5sync.env")
    world.add_task(ALICE, "customer", "Visit", "2026-11-27T10:00:00", "2026-11-27T11:00:00")
    first = await s5sync(env, "sync", "--user", ALICE.upper(), "--now", NOW.isoformat(), "--json")
    assert first.exit_code == 0, first.output
    said = json.loads(first.output)
    assert said["outcome"] == "ok"
    assert [e["action"] for e in said["entries"]] == ["create_event"]
    assert said["graph_requests"]["by_phase"]["first_read"] >= 1
    assert said["next_run_at"] == (NOW + LATER).isoformat()
    later = (NOW + LATER).isoformat()
    idle = json.loads((await s5sync(env, "sync", "--user", ALICE, "--now", later, "--json")).output)
    assert idle["entries"] == []
    assert idle["graph_requests"]["total"] == 1
    assert idle["graph_requests"]["by_phase"] == {"delta": 1}


async def test_sync_refuses_an_unknown_user_with_one_line(world: Stack, tmp_path: Path) -> None:
    env = env_file(world, tmp_path / "s5sync.env")
    result = await s5sync(env, "sync", "--user", "nobody@contoso.example")
    assert result.exit_code == 1
    assert result.output.strip() == "s5sync sync: no user nobody@contoso.example"


async def test_sync_refuses_a_user_of_two_stores_without_tenant(
    world: Stack, tmp_path: Path
) -> None:
    env = env_file(world, tmp_path / "s5sync.env")
    other = await world.services.directory.create_tenant(
        "other-tenant", "Other store", "sqlite://", NOW
    )
    async with world.services.scope(other.id).begin() as unit:
        await unit.users.invite(ALICE, NOW)
    result = await s5sync(env, "sync", "--user", ALICE)
    assert result.exit_code == 1
    assert "several stores" in result.output
    assert "--tenant" in result.output
    # Naming the store picks the onboarded one.
    named = await s5sync(
        env,
        "sync",
        "--user",
        ALICE,
        "--tenant",
        world.tenant.ms_tenant_id,
        "--now",
        NOW.isoformat(),
    )
    assert named.exit_code == 0, named.output


async def test_sync_refuses_a_user_who_is_not_onboarded_R20(world: Stack, tmp_path: Path) -> None:
    env = env_file(world, tmp_path / "s5sync.env")
    async with world.services.scope(world.tenant.id).begin() as unit:
        await unit.users.invite(BOB, NOW)
    result = await s5sync(env, "sync", "--user", BOB)
    assert result.exit_code == 1
    assert "not onboarded" in result.output
    assert len(result.output.strip().splitlines()) == 1


async def test_sync_refuses_a_user_who_must_sign_in_again_R19b(
    world: Stack, tmp_path: Path
) -> None:
    env = env_file(world, tmp_path / "s5sync.env")
    revoke(world, ALICE)
    world.add_task(ALICE, "customer", "Visit", "2026-11-27T10:00:00", "2026-11-27T11:00:00")
    # The cycle that meets the revoked token ends needs_sign_in (exit 3) …
    first = await s5sync(env, "sync", "--user", ALICE, "--now", NOW.isoformat(), "--json")
    assert first.exit_code == 3, first.output
    assert json.loads(first.output.split("\ns5sync sync:")[0])["outcome"] == "needs_sign_in"
    # … and from then on the command refuses before running one.
    second = await s5sync(env, "sync", "--user", ALICE)
    assert second.exit_code == 1
    assert "sign in" in second.output
    assert world.events(ALICE) == []


async def test_sync_refuses_a_bad_now(world: Stack, tmp_path: Path) -> None:
    env = env_file(world, tmp_path / "s5sync.env")
    result = await s5sync(env, "sync", "--user", ALICE, "--now", "yesterday")
    assert result.exit_code == 1
    assert "--now" in result.output
