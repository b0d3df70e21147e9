"""Security on every page (R22; issue 11): CSRF on every state-changing request, the
security headers on every answer, user-supplied text escaped, and the onboarding
self-test and store-time display of the staff pages (R20, R21)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from fastapi.routing import APIRoute

from support.web_pages import ALICE, BOB, ERIN, PAGES, check_headers, options_form, tomorrow_at
from support.web_world import WebWorld

SCRIPT = "<script>alert(1)</script>"
EXEMPT = {
    "/auth/callback",  # MSAL's form_post: protected by state, nonce and PKCE (R19)
    # Microsoft Graph's deliveries carry no session: each item must carry its
    # subscription's secret client state instead (R14b; test_push_notifications.py)
    "/graph/notifications",
    "/graph/lifecycle",
}


def state_changing_routes(world: WebWorld) -> set[str]:
    return {
        route.path
        for route in world.app.routes
        if isinstance(route, APIRoute)
        and set(route.methods or ()) & {"POST", "PUT", "PATCH", "DELETE"}
    }


async def snapshot(world: WebWorld) -> tuple[object, ...]:
    tenant = await world.services.directory.tenant(world.stores["contoso"].tenant.id)
    return (tenant, await world.user(ALICE), await world.user(BOB))


async def test_every_state_changing_request_without_a_valid_token_is_refused_R22(
    people: WebWorld,
) -> None:
    bob = await people.user(BOB)
    employee = await people.employee(BOB)
    attempts = {
        "/auth/logout": {},
        "/onboarding": {"employee_id": str(employee)},
        "/dashboard/heartbeat": {},
        "/dashboard/sync-now": {},
        "/admin/options": options_form(sync_tag="[forged]"),
        "/admin/users/{user_id}/map": {"employee_id": str(employee)},
        "/admin/users/{user_id}/unmap": {},
        "/admin/users/{user_id}/remove": {},
        "/admin/users/{user_id}/pause": {},
        "/admin/users/{user_id}/resume": {},
        "/admin/users/{user_id}/test": {},
        "/admin/users/{user_id}/resync": {},
        "/admin/employees/{employee_id}/invite": {},
        "/dashboard/pause": {},
        "/dashboard/resume": {},
        "/dashboard/repair": {},
    }
    # A new state-changing route must be added here, or this test fails.
    assert state_changing_routes(people) - EXEMPT == set(attempts)
    alice = people.people[ALICE].browser
    other_session_token = await people.people[ERIN].csrf()
    before = await snapshot(people)
    refused = []
    for template, data in attempts.items():
        path = template.format(user_id=bob.id, employee_id=employee)
        for headers, token in (
            ({}, None),
            ({"X-CSRF-Token": "forged"}, None),
            ({}, "forged"),
            ({"X-CSRF-Token": other_session_token}, None),
            ({}, other_session_token),
        ):
            form = {**data, **({"csrf_token": token} if token else {})}
            answer = await alice.post(path, data=form, headers=headers)
            refused.append((path, answer.status_code))
    assert {status for _, status in refused} == {403}, refused
    assert await snapshot(people) == before
    assert (await alice.get("/dashboard")).status_code == 200  # still signed in


async def test_every_answer_carries_the_security_headers_for_every_role_R22(
    people: WebWorld,
) -> None:
    problems: list[str] = []
    browsers = [people.browser(), people.people[BOB].browser, people.people[ALICE].browser]
    for browser in browsers:
        for path in [*PAGES, "/static/app.css", "/nowhere", "/admin/users/0/remove"]:
            problems += check_headers(await browser.get(path))
        problems += check_headers(await browser.post("/dashboard/sync-now"))
    assert problems == []


async def test_a_script_in_a_subject_shows_as_text_on_dashboard_and_health_R22(
    people: WebWorld,
) -> None:
    employee = await people.employee(BOB)
    people.add_task(BOB, SCRIPT, tomorrow_at(9), tomorrow_at(10), employee)
    result = await people.cycle(BOB)
    assert result.outcome == "ok", result.error
    escaped = "&lt;script&gt;alert(1)&lt;/script&gt;"
    for page in (
        await people.people[BOB].browser.get("/dashboard"),
        await people.people[ALICE].browser.get("/admin"),
    ):
        assert page.status_code == 200
        assert escaped in page.text
        assert SCRIPT not in page.text


async def test_onboarding_self_test_shows_each_result_R20(world: WebWorld) -> None:
    alice = await world.sign_in(ALICE)
    await world.employee(ALICE)
    page = (await alice.browser.get("/onboarding")).text
    assert "Passed: </span>System Five database reachable" in page
    assert (
        "Passed: </span>Microsoft sign-in works and grants User.Read, Calendars.ReadWrite, "
        "MailboxSettings.ReadWrite" in page
    )
    assert "Received From System5” will be created at your first sync" in page
    await world.onboard(ALICE)
    assert (await world.cycle(ALICE)).outcome == "ok"
    assert "Received From System5” is in your list" in (await alice.browser.get("/onboarding")).text


async def test_a_revoked_sign_in_fails_the_self_test_with_what_to_do_R19b(
    world: WebWorld,
) -> None:
    alice = await world.sign_in(ALICE)
    async with world.services.scope(alice.user.tenant_id).begin() as unit:
        await unit.users.save_token_cache(alice.user.id, None)
    page = (await alice.browser.get("/onboarding")).text
    assert "Failed: </span>Microsoft sign-in no longer works: sign in again." in page


async def test_dashboard_shows_times_in_the_stores_time_zone_R21(people: WebWorld) -> None:
    tenant_id = people.stores["contoso"].tenant.id
    await people.services.directory.update_tenant(tenant_id, time_zone="Asia/Tokyo")
    result = await people.cycle(BOB)
    assert result.outcome == "ok", result.error
    page = (await people.people[BOB].browser.get("/dashboard")).text
    async with people.services.scope(tenant_id).begin(write=False) as unit:
        [run] = await unit.runs.runs(people.people[BOB].user.id, limit=1)
    # Store time, without a zone name (issue 20): the page is read by the store's staff.
    tokyo = run.started_at.astimezone(ZoneInfo("Asia/Tokyo"))
    assert f">{tokyo:%H:%M}</time> — all done" in page
    assert " UTC" not in page
    assert "Asia/Tokyo" not in page
