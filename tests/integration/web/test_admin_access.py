"""Who may open and change what (R21c, R22; issue 11): routes × roles × stores.

Alice administers Contoso, Bob is Contoso staff, Erin administers Fabrikam. Every answer
is the expected one: staff never reach the administrator's pages, and an administrator of
one store can neither see nor change the other store's users, activity or options.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from support.web_pages import ALICE, BOB, ERIN, PAGES, options_form, post
from support.web_world import WebWorld

# role → path → expected status (303 = sent to sign-in or to the dashboard)
EXPECTED = {
    "anonymous": {
        "/": 200,
        "/onboarding": 303,
        "/dashboard": 303,
        "/dashboard/status": 303,
        "/admin": 303,
        "/admin/options": 303,
        "/admin/users": 303,
        "/admin/audit": 303,
        "/admin/audit.csv": 303,
        "/dashboard/activity.csv": 303,
        "/healthz": 200,
        "/metrics": 200,
    },
    "staff": {
        "/": 303,
        "/onboarding": 200,
        "/dashboard": 200,
        "/dashboard/status": 200,
        "/admin": 403,
        "/admin/options": 403,
        "/admin/users": 403,
        "/admin/audit": 403,
        "/admin/audit.csv": 403,
        "/dashboard/activity.csv": 200,
        "/healthz": 200,
        "/metrics": 200,
    },
    "administrator": {
        "/": 303,
        "/onboarding": 200,
        "/dashboard": 200,
        "/dashboard/status": 200,
        "/admin": 200,
        "/admin/options": 200,
        "/admin/users": 200,
        "/admin/audit": 200,
        "/admin/audit.csv": 200,
        "/dashboard/activity.csv": 200,
        "/healthz": 200,
        "/metrics": 200,
    },
}


async def test_every_page_answers_each_role_as_expected_in_both_stores_R21c_R22(
    people: WebWorld,
) -> None:
    browsers = {
        ("anonymous", "-"): people.browser(),
        ("staff", "contoso"): people.people[BOB].browser,
        ("administrator", "contoso"): people.people[ALICE].browser,
        ("administrator", "fabrikam"): people.people[ERIN].browser,
    }
    wrong = []
    for (role, store), browser in browsers.items():
        for path in PAGES:
            answer = await browser.get(path)
            if answer.status_code != EXPECTED[role][path]:
                wrong.append((role, store, path, answer.status_code))
    assert wrong == []


async def test_staff_get_a_clear_refusal_on_admin_pages_R21c(people: WebWorld) -> None:
    answer = await people.people[BOB].browser.get("/admin")
    assert answer.status_code == 403
    assert "Only your store&#39;s administrators" in answer.text


async def test_each_administrator_sees_only_their_own_store_R22(people: WebWorld) -> None:
    alice, erin = people.people[ALICE].browser, people.people[ERIN].browser
    for path in ("/admin", "/admin/users"):
        contoso = (await alice.get(path)).text
        fabrikam = (await erin.get(path)).text
        assert (ALICE in contoso, BOB in contoso, ERIN in contoso) == (True, True, False)
        assert (ERIN in fabrikam, ALICE in fabrikam, BOB in fabrikam) == (True, False, False)
    assert "Contoso" in (await alice.get("/admin/options")).text
    assert "Fabrikam" in (await erin.get("/admin/options")).text


async def test_activity_of_one_store_never_shows_in_the_other_R22(people: WebWorld) -> None:
    employee = await people.employee(ERIN)
    day = (datetime.now(ZoneInfo("America/New_York")) + timedelta(days=1)).date().isoformat()
    people.add_task(ERIN, "Fabrikam private delivery", f"{day}T10:00", f"{day}T11:00", employee)
    assert (await people.cycle(ERIN)).outcome == "ok"
    erin_view = (await people.people[ERIN].browser.get("/admin")).text
    assert "Fabrikam private delivery" in erin_view
    for browser in (people.people[ALICE].browser, people.people[BOB].browser):
        for path in ("/dashboard", "/admin", "/admin/users"):
            assert "Fabrikam private delivery" not in (await browser.get(path)).text


async def test_an_administrator_cannot_change_another_stores_users_R22(people: WebWorld) -> None:
    alice = people.people[ALICE]
    erin_before = await people.user(ERIN)
    bob_before = await people.user(BOB)
    token = await alice.csrf()
    erin_id = erin_before.id
    employee = await people.employee(ALICE)
    assert (
        await post(alice.browser, token, f"/admin/users/{erin_id}/map", employee_id=str(employee))
        == 404
    )
    assert await post(alice.browser, token, f"/admin/users/{erin_id}/unmap") == 404
    assert await post(alice.browser, token, f"/admin/users/{erin_id}/remove") == 404
    assert await people.user(ERIN) == erin_before
    erin = people.people[ERIN]
    token = await erin.csrf()
    assert await post(erin.browser, token, f"/admin/users/{bob_before.id}/unmap") == 404
    assert await post(erin.browser, token, f"/admin/users/{bob_before.id}/remove") == 404
    assert await people.user(BOB) == bob_before


async def test_options_saved_by_one_store_leave_the_other_unchanged_R21_R22(
    people: WebWorld,
) -> None:
    alice = people.people[ALICE]
    before = await people.services.directory.tenant(people.stores["fabrikam"].tenant.id)
    form = options_form(sync_tag="[shop]", category_name="From the shop")
    assert await post(alice.browser, await alice.csrf(), "/admin/options", **form) == 303
    contoso = await people.services.directory.tenant(people.stores["contoso"].tenant.id)
    fabrikam = await people.services.directory.tenant(people.stores["fabrikam"].tenant.id)
    assert contoso.options.sync_tag == "[shop]"
    assert fabrikam == before


async def test_staff_cannot_change_options_or_users_even_with_a_valid_token_R21c(
    people: WebWorld,
) -> None:
    bob = people.people[BOB]
    token = await bob.csrf()
    alice = await people.user(ALICE)
    before = await people.services.directory.tenant(people.stores["contoso"].tenant.id)
    assert await post(bob.browser, token, "/admin/options", **options_form(sync_tag="[x]")) == 403
    assert await post(bob.browser, token, f"/admin/users/{alice.id}/unmap") == 403
    assert await post(bob.browser, token, f"/admin/users/{alice.id}/remove") == 403
    assert await people.services.directory.tenant(before.id) == before
    assert await people.user(ALICE) == alice
