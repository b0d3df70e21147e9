"""Test per user (issue 21 item 6; R20, R19, R3, R14b): the administrator runs the
onboarding self-test for any user of the store and sees each check's result; another
store's user is not found, and staff cannot run it."""

from __future__ import annotations

import html

from s5sync.store.subscriptions import SubscriptionRows
from support.web_pages import ALICE, BOB, ERIN, post
from support.web_world import WebWorld


async def test_the_administrator_tests_a_users_sync_R20_R19_R3(people: WebWorld) -> None:
    alice = people.people[ALICE]
    bob = await people.user(BOB)
    page = await alice.browser.post(
        f"/admin/users/{bob.id}/test", data={"csrf_token": await alice.csrf()}
    )
    assert page.status_code == 200
    text = html.unescape(page.text)
    assert "Every check passed" in text
    assert "System Five reachable; employee Bob Nguyen (BOB) found" in text
    assert "Microsoft sign-in works and grants User.Read, Calendars.ReadWrite" in text
    assert "Outlook category “Received From System5”" in text
    assert "subscription" in text


async def test_a_failing_check_is_shown_as_failed_R19b(people: WebWorld) -> None:
    alice = people.people[ALICE]
    bob = await people.user(BOB)
    subscriptions = SubscriptionRows(people.services.db, people.services.box)
    await subscriptions.needs_sign_in(bob.tenant_id, bob.id, "")
    page = await alice.browser.post(
        f"/admin/users/{bob.id}/test", data={"csrf_token": await alice.csrf()}
    )
    assert "Something needs attention" in page.text
    assert "Failed: </span>Microsoft sign-in no longer works: sign in again." in page.text


async def test_the_test_stays_in_the_store_and_with_administrators_R22_R21c(
    people: WebWorld,
) -> None:
    alice = people.people[ALICE]
    erin = await people.user(ERIN)
    assert await post(alice.browser, await alice.csrf(), f"/admin/users/{erin.id}/test") == 404
    bob = people.people[BOB]
    alice_id = (await people.user(ALICE)).id
    assert await post(bob.browser, await bob.csrf(), f"/admin/users/{alice_id}/test") == 403
