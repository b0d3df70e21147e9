"""The audit trail (R21d; issue 21 item 7): every administrator's action from the web is
recorded with who, when and what (one test per action), shown on the Audit page and
exported as CSV; a user's activity is exported as CSV (their own, and any user's for the
administrator); and every administrator route naming a user is scoped to the store."""

from __future__ import annotations

import csv
import io

from fastapi.routing import APIRoute

from s5sync.store.audit import AuditAction, AuditRecord
from support.web_pages import ALICE, BOB, ERIN, options_form, post
from support.web_world import WebWorld


async def trail(world: WebWorld, email: str = ALICE) -> list[AuditRecord]:
    user = await world.user(email)
    async with world.services.scope(user.tenant_id).begin(write=False) as unit:
        return await unit.audit.lines()


async def test_options_changed_are_audited_with_old_and_new_values_R21d(
    people: WebWorld,
) -> None:
    alice = people.people[ALICE]
    form = options_form(sync_tag="[s5]", interval_minutes="15")
    answer = await alice.browser.post(
        "/admin/options", data={"csrf_token": await alice.csrf(), **form}
    )
    assert answer.status_code == 303
    [line] = await trail(people)
    assert (line.actor, line.actor_kind, line.action) == (
        ALICE,
        "administrator",
        AuditAction.OPTIONS_CHANGED,
    )
    assert line.details["sync_tag"] == {"old": "[sync]", "new": "[s5]"}
    assert line.details["interval_minutes"] == {"old": 10, "new": 15}
    page = await alice.browser.get("/admin/audit")
    assert "sync_tag: [sync] → [s5]" in page.text


async def test_a_mapping_is_audited_R21d(people: WebWorld) -> None:
    alice = people.people[ALICE]
    bob = await people.user(BOB)
    employee = await people.employee(BOB)
    token = await alice.csrf()
    assert await post(alice.browser, token, f"/admin/users/{bob.id}/unmap", confirm="yes") == 303
    status = await post(
        alice.browser, token, f"/admin/users/{bob.id}/map", employee_id=str(employee), confirm="yes"
    )
    assert status == 303
    mapped, unmapped = await trail(people)
    assert (unmapped.action, unmapped.target) == (AuditAction.USER_UNMAPPED, BOB)
    assert (mapped.action, mapped.target) == (AuditAction.USER_MAPPED, BOB)
    assert mapped.details["employee"]["old"] is None


async def test_a_removal_is_audited_R21d(people: WebWorld) -> None:
    alice = people.people[ALICE]
    bob = await people.user(BOB)
    assert (
        await post(
            alice.browser, await alice.csrf(), f"/admin/users/{bob.id}/remove", confirm="yes"
        )
        == 303
    )
    [line] = await trail(people)
    assert (line.actor, line.action, line.target) == (ALICE, AuditAction.USER_REMOVED, BOB)


async def test_the_audit_csv_and_the_other_store_never_sees_it_R21d_R22(
    people: WebWorld,
) -> None:
    alice = people.people[ALICE]
    bob = await people.user(BOB)
    await post(alice.browser, await alice.csrf(), f"/admin/users/{bob.id}/unmap", confirm="yes")
    answer = await alice.browser.get("/admin/audit.csv")
    assert answer.headers["content-type"].startswith("text/csv")
    assert "attachment" in answer.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert [(r["actor"], r["action"], r["target"]) for r in rows] == [(ALICE, "user_unmapped", BOB)]
    erin = people.people[ERIN].browser
    assert list(csv.DictReader(io.StringIO((await erin.get("/admin/audit.csv")).text))) == []


async def test_activity_csv_for_the_user_and_for_the_administrator_R18(
    people: WebWorld,
) -> None:
    await people.cycle(BOB)
    bob = await people.user(BOB)
    own = await people.people[BOB].browser.get("/dashboard/activity.csv")
    assert own.status_code == 200
    by_admin = await people.people[ALICE].browser.get(f"/admin/users/{bob.id}/activity.csv")
    assert by_admin.status_code == 200
    assert own.text == by_admin.text
    assert own.text.splitlines()[0].startswith("at_utc,at_America/New_York,direction")


async def test_every_admin_route_naming_a_user_is_scoped_to_the_store_R22(
    people: WebWorld,
) -> None:
    """Route enumeration: each `/admin/...{user_id}...` route, GET or POST, answers 404
    for another store's user, and that user is unchanged."""
    alice = people.people[ALICE]
    erin = await people.user(ERIN)
    token = await alice.csrf()
    routes = [
        (route.path, method)
        for route in people.app.routes
        if isinstance(route, APIRoute) and "{user_id}" in route.path
        for method in route.methods or ()
    ]
    assert len(routes) >= 4
    answers = []
    for path, method in routes:
        url = path.format(user_id=erin.id)
        if method == "GET":
            answer = await alice.browser.get(url)
        else:
            form = {"csrf_token": token, "employee_id": "1", "confirm": "yes"}
            answer = await alice.browser.post(url, data=form)
        answers.append((path, method, answer.status_code))
    assert {status for *_, status in answers} == {404}, answers
    assert await people.user(ERIN) == erin
