"""What staff and the administrator are told about push (R14b, R19b, R21), through the
web app as `serve` runs it and the Microsoft 365 emulator:

- the dashboard's `#sync-cadence` says "Live" while the user's calendar subscription is
  live and "Every 10 minutes" without one, and `#last-change` the time of the last change
  seen;
- the health page has one line per user about push: live, or polling and why;
- a 403 to the subscription's renewal or creation (the grant revoked) asks the user to
  sign in again — never a silent poll forever — and nobody else is touched (R19b)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from bs4 import BeautifulSoup, Tag

from m365emu.faults import Fault, FaultKind
from m365emu.testing import RunningEmulator
from s5sync.core.timezones import utc_to_wall
from s5sync.entrypoints.user_commands import remove_user, unmap_user
from support.live_push import emulator_stats, live_push, settled, subscribed, tasks, wait_for
from support.web_pages import post
from support.web_world import ZONE, WebWorld, web_world

ALICE = "alice@contoso.example"
BOB = "bob@contoso.example"


@pytest.fixture
async def live(world: WebWorld, running: RunningEmulator) -> AsyncIterator[WebWorld]:
    """Alice (the store's administrator) with her dashboard open, push running."""
    async with live_push(world, running, ALICE):
        await world.onboard(ALICE, admin=True)
        yield world


def slot(html: str, element_id: str) -> str:
    found = BeautifulSoup(html, "html.parser").find(id=element_id)
    assert isinstance(found, Tag), element_id
    return found.get_text(" ", strip=True)


async def dashboard(world: WebWorld, email: str) -> str:
    return (await world.people[email].browser.get("/dashboard")).text


async def health_line(world: WebWorld, admin: str, email: str) -> str:
    user = await world.user(email)
    return slot((await world.people[admin].browser.get("/admin")).text, f"push-{user.id}")


def post_tagged_event(world: WebWorld, email: str, title: str) -> None:
    start = datetime.now(UTC) + timedelta(days=2)
    with world.graph(email) as graph:
        answer = graph.post(
            "/me/events",
            json={
                "subject": f"[sync] {title}",
                "start": {"dateTime": start.isoformat(), "timeZone": "UTC"},
                "end": {"dateTime": (start + timedelta(hours=1)).isoformat(), "timeZone": "UTC"},
            },
        )
        assert answer.status_code == 201, answer.text


async def test_the_dashboard_says_live_and_the_last_change_seen_R14b(live: WebWorld) -> None:
    before = await dashboard(live, ALICE)
    assert slot(before, "sync-cadence") == "Every 10 minutes"  # not subscribed yet
    assert slot(before, "last-change") == "none yet"
    await subscribed(live, ALICE)
    assert slot(await dashboard(live, ALICE), "sync-cadence") == "Live"
    assert await health_line(live, ALICE, ALICE) == (
        "Live: changes cross in seconds; safety sync every 60 minutes"
    )

    post_tagged_event(live, ALICE, "Fitting")
    await wait_for(lambda: "Fitting" in tasks(live), 10.0)
    seen = (await live.user(ALICE)).last_change_at
    assert seen is not None
    page = await dashboard(live, ALICE)
    assert slot(page, "sync-cadence") == "Live"
    assert slot(page, "last-change") == f"{utc_to_wall(seen, ZONE):%H:%M}"  # store time


async def test_without_a_public_url_staff_are_polled_and_the_health_page_says_why_R14b(
    tmp_path: Path, running: RunningEmulator
) -> None:
    async with web_world(tmp_path, running, public_url="") as world:
        await world.sign_in(ALICE)
        await world.onboard(ALICE, admin=True)
        await world.sign_in(BOB)
        await world.onboard(BOB)
        await world.app.state.push.manager.sweep()
        assert slot(await dashboard(world, BOB), "sync-cadence") == "Every 10 minutes"
        assert await health_line(world, ALICE, BOB) == (
            "Polling every 10 minutes: S5SYNC_PUBLIC_URL is not set"
        )


async def revoke(world: WebWorld, email: str) -> None:
    async with httpx.AsyncClient() as control:
        answer = await control.post(f"{world.running.urls.control}/users/{email}/revoke")
        answer.raise_for_status()


async def test_a_renewal_refused_with_403_asks_the_user_to_sign_in_again_R19b(
    live: WebWorld,
) -> None:
    await live.sign_in(BOB)
    await live.onboard(BOB)
    await live.people[BOB].browser.get("/dashboard")
    await live.app.state.push.manager.sweep()
    await settled(live, ALICE)
    await settled(live, BOB)
    # Bob's grant is revoked: his access token still works, but Graph answers the
    # subscription's reauthorization (the lifecycle event the emulator sends) with 403.
    await revoke(live, BOB)
    bob_id = (await live.user(BOB)).id

    async def bob_status() -> str:
        return (await live.user(BOB)).status

    for _ in range(200):
        if await bob_status() == "needs_sign_in":
            break
        await live.app.state.push.manager.sweep()
        await settled(live, BOB)
    assert await bob_status() == "needs_sign_in"
    assert (await live.user(BOB)).push_live_until is None
    assert slot(await dashboard(live, BOB), "status-words") == "Sign in again"
    assert await health_line(live, ALICE, BOB) == (
        "No push: must sign in again, nothing is synced until then"
    )
    # Nobody else is touched (R19b): Alice stays live.
    assert (await live.user(ALICE)).status == "active"
    assert slot(await dashboard(live, ALICE), "sync-cadence") == "Live"
    rows = live.app.state.push.rows
    assert await rows.upkeep_of(live.stores["contoso"].tenant.id, bob_id) is None


async def test_a_creation_refused_with_403_asks_the_user_to_sign_in_again_R19b(
    live: WebWorld,
) -> None:
    await subscribed(live, ALICE)
    await live.sign_in(BOB)
    await live.onboard(BOB)
    await revoke(live, BOB)  # before his first subscription
    await live.people[BOB].browser.get("/dashboard")  # R14: active, so one is made
    await live.app.state.push.manager.sweep()
    assert (await live.user(BOB)).status == "needs_sign_in"
    stats = await live.app.state.push.manager.sweep()
    assert stats.created == 0  # nothing tried for Bob again until he signs in
    assert (await live.user(ALICE)).status == "active"
    assert slot(await dashboard(live, ALICE), "sync-cadence") == "Live"


async def test_signing_out_deletes_the_subscription_and_makes_no_new_one_R14_R14b(
    live: WebWorld,
) -> None:
    await subscribed(live, ALICE)
    await live.sign_in(BOB)
    await live.onboard(BOB)
    await live.people[BOB].browser.get("/dashboard")
    await live.app.state.push.manager.sweep()
    assert len((await emulator_stats(live))["subscriptions"]) == 2
    bob = live.people[BOB]
    token = await bob.csrf()
    out = await bob.browser.post("/auth/logout", headers={"X-CSRF-Token": token})
    assert out.status_code == 303
    left = (await emulator_stats(live))["subscriptions"]
    assert len(left) == 1  # Bob's deleted on Graph at once, while his token still works
    await live.app.state.push.manager.sweep()
    assert (await emulator_stats(live))["subscriptions"] == left  # and not made again
    assert (await live.user(BOB)).push_live_until is None
    assert slot(await dashboard(live, ALICE), "sync-cadence") == "Live"  # Alice untouched


async def bob_subscribed_too(live: WebWorld) -> list[dict[str, object]]:
    """Alice's and Bob's subscriptions on the emulator; Alice's alone returned."""
    alices = await subscribed(live, ALICE)
    await live.sign_in(BOB)
    await live.onboard(BOB)
    await live.people[BOB].browser.get("/dashboard")
    await live.app.state.push.manager.sweep()
    assert len((await emulator_stats(live))["subscriptions"]) == 2
    return alices


async def test_the_administrator_unmapping_or_removing_a_user_deletes_their_subscription_R14b(
    live: WebWorld,
) -> None:
    alices = await bob_subscribed_too(live)
    bob = await live.user(BOB)
    admin = live.people[ALICE]
    token = await admin.csrf()
    assert await post(admin.browser, token, f"/admin/users/{bob.id}/unmap", confirm="yes") == 303
    assert (await emulator_stats(live))["subscriptions"] == alices  # unmapped: gone at once
    await live.onboard(BOB)
    await live.people[BOB].browser.get("/dashboard")
    await live.app.state.push.manager.sweep()
    assert len((await emulator_stats(live))["subscriptions"]) == 2
    assert await post(admin.browser, token, f"/admin/users/{bob.id}/remove", confirm="yes") == 303
    assert (await emulator_stats(live))["subscriptions"] == alices  # Bob's gone from Graph
    await live.app.state.push.manager.sweep()
    assert (await emulator_stats(live))["subscriptions"] == alices
    assert slot(await dashboard(live, ALICE), "sync-cadence") == "Live"  # Alice untouched


async def test_the_operator_removing_or_unmapping_a_user_deletes_their_subscription_R14b(
    live: WebWorld,
) -> None:
    alices = await bob_subscribed_too(live)
    services = live.app.state.services
    await unmap_user(services, BOB, None)  # `s5sync user unmap`
    assert (await emulator_stats(live))["subscriptions"] == alices  # at once, no sweep
    await live.onboard(BOB)
    await live.people[BOB].browser.get("/dashboard")
    await live.app.state.push.manager.sweep()
    assert len((await emulator_stats(live))["subscriptions"]) == 2
    await remove_user(services, BOB, None)  # `s5sync user remove`
    assert (await emulator_stats(live))["subscriptions"] == alices
    assert slot(await dashboard(live, ALICE), "sync-cadence") == "Live"


async def test_a_failing_renewal_is_on_the_health_line_until_it_succeeds_R14b_R21(
    live: WebWorld, running: RunningEmulator
) -> None:
    await subscribed(live, ALICE)
    alice = await live.user(ALICE)
    rows = live.app.state.push.rows
    manager = live.app.state.push.manager
    running.emulator.faults.add(
        Fault("PATCH", "/subscriptions/*", FaultKind.ERROR, status=500, count=50)
    )
    await rows.renew_soon(alice.tenant_id, alice.id, datetime.now(UTC))
    await manager.sweep()
    line = await health_line(live, ALICE, ALICE)
    assert line.startswith("Live: changes cross in seconds; safety sync every 60 minutes")
    assert "renewing the subscription failed, trying again" in line  # still live until expiry
    assert "500" in line
    running.emulator.faults.clear()
    await rows.renew_soon(alice.tenant_id, alice.id, datetime.now(UTC))
    await manager.sweep()
    assert await health_line(live, ALICE, ALICE) == (
        "Live: changes cross in seconds; safety sync every 60 minutes"
    )
